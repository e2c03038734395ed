import { describe, expect, it } from 'vitest'
import { BaseError, ConfigError, RetryableError, isTransientError } from '../src/errors.ts'

/** What pg throws: an Error with the SQLSTATE in `code`. */
function pgError(code: string, message = `error ${code}`): Error {
  return Object.assign(new Error(message), { code })
}

describe('isTransientError', () => {
  it.each([
    // 08: connection exception
    ['08000', true],
    ['08001', true],
    ['08003', true],
    ['08004', true],
    ['08006', true],
    ['08007', true],
    // 53: insufficient resources (53300: also the embedded server's "one connection at a time")
    ['53000', true],
    ['53100', true],
    ['53200', true],
    ['53300', true],
    ['53400', true],
    // 57P: operator intervention
    ['57P01', true],
    ['57P02', true],
    ['57P03', true],
    ['57P05', true],
    ['57P04', false], // database_dropped does not pass
    // single codes
    ['40001', true],
    ['40P01', true],
    ['55P03', true],
    ['57014', true],
    ['25006', true],
    // not transient
    ['23505', false], // unique_violation
    ['42P01', false], // undefined_table
    ['42601', false], // syntax_error
    ['22P02', false], // invalid_text_representation
    ['40002', false], // transaction_integrity_constraint_violation (class 40, not retried)
    ['25P02', false], // in_failed_sql_transaction
    ['55000', false], // object_not_in_prerequisite_state
    ['28P01', false], // invalid_password
    ['3D000', false], // invalid_catalog_name
  ])('SQLSTATE %s → %s', (code, expected) => {
    expect(isTransientError(pgError(code))).toBe(expected)
  })

  it.each([
    ['ECONNREFUSED', true],
    ['ECONNRESET', true],
    ['ETIMEDOUT', true],
    ['EPIPE', true],
    ['ENOTFOUND', true],
    ['EAI_AGAIN', true],
    ['EHOSTUNREACH', true],
    ['EACCES', false],
    ['ERR_INVALID_ARG_TYPE', false],
  ])('node code %s → %s', (code, expected) => {
    expect(isTransientError(pgError(code))).toBe(expected)
  })

  it.each([
    ['Connection terminated unexpectedly', true],
    ['timeout exceeded when trying to connect', true],
    ['Client has encountered a connection error and is not queryable', true],
    ['socket hang up', true],
    ['Connection is closed.', true],
    ['relation "nope" does not exist', false],
  ])('message %j → %s', (message, expected) => {
    expect(isTransientError(new Error(message))).toBe(expected)
  })

  it('follows the cause chain', () => {
    expect(isTransientError(new Error('outer', { cause: pgError('53300') }))).toBe(true)
    expect(isTransientError(new Error('outer', { cause: pgError('23505') }))).toBe(false)
  })

  it('trusts dexrisk errors: RetryableError yes, any other BaseError no (whatever its cause)', () => {
    expect(isTransientError(new RetryableError('down'))).toBe(true)
    expect(isTransientError(new ConfigError('bad', { cause: pgError('08006') }))).toBe(false)
    expect(isTransientError(new BaseError('x', { cause: pgError('57P01') }))).toBe(false)
  })

  it('ignores numeric codes and non-errors', () => {
    expect(isTransientError(Object.assign(new Error('rpc'), { code: -32603 }))).toBe(false)
    expect(isTransientError(undefined)).toBe(false)
    expect(isTransientError('ECONNRESET')).toBe(false)
  })
})
