import { AccountStoreError } from '../domain/account-store.ts'

/** An error with the HTTP status and machine-readable code the API answers it with. */
export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const STATUS: Record<AccountStoreError['reason'], [number, string]> = {
  not_found: [404, 'not_found'],
  conflict: [409, 'conflict'],
  read_only: [409, 'read_only'],
  invalid: [400, 'bad_request'],
}

/** Maps the errors the stores throw to their HTTP answer; anything else is left to the 500 path. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err
  if (err instanceof AccountStoreError) {
    const [status, code] = STATUS[err.reason]
    return new HttpError(status, code, err.shortMessage)
  }
  return undefined
}
