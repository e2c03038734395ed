import { BaseError } from '../errors.ts'

/** No `sql/reports/<name>.sql`. The message lists the reports there are. */
export class UnknownReportError extends BaseError {
  override name = 'UnknownReportError'
  readonly report: string
  constructor(report: string, known: readonly string[]) {
    super(`unknown report ${JSON.stringify(report)}; the reports are: ${known.join(', ') || '(none)'}`)
    this.report = report
  }
}

/** A report uses a parameter (psql variable) the caller did not give. */
export class MissingReportParameterError extends BaseError {
  override name = 'MissingReportParameterError'
  readonly report: string
  readonly parameter: string
  constructor(report: string, parameter: string) {
    super(`report ${report} needs the parameter ${parameter}`, { context: { field: parameter } })
    this.report = report
    this.parameter = parameter
  }
}

/** A parameter that should be a time (from, to) or a duration (since) is not one, or the range is empty. */
export class BadReportTimeError extends BaseError {
  override name = 'BadReportTimeError'
  readonly report: string
  readonly parameter: string
  constructor(report: string, parameter: string, message: string) {
    super(`report ${report}: ${message}`, { context: { field: parameter } })
    this.report = report
    this.parameter = parameter
  }
}

/** A report file that cannot run as a report (a psql variable form it cannot bind, several statements). */
export class ReportSyntaxError extends BaseError {
  override name = 'ReportSyntaxError'
}
