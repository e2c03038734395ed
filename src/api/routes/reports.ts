import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { listReports } from '../../reports/list-reports.ts'
import { ALL_ACCOUNTS, resolveReportParams } from '../../reports/report-params.ts'
import { BadReportTimeError, MissingReportParameterError, UnknownReportError } from '../../reports/report-errors.ts'
import { runReport } from '../../reports/run-report.ts'
import type { ApiContext } from '../api-context.ts'
import { notFoundAccount } from '../auth.ts'
import { HttpError } from '../http-error.ts'
import { AccountName, ErrorBody } from '../schemas.ts'

const tags = ['reports']

/**
 * The SQL risk reports of sql/reports, as `dexrisk report` runs them (the CLI reaches a running
 * embedded monitor through this route). An account key runs them for its own account only; an
 * admin key for any account or '*' (every account, the default).
 */
export function reportRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/v1/reports', { schema: { tags, summary: 'The reports there are', response: { 200: Type.Object({ reports: Type.Array(Type.String()) }), 401: ErrorBody } } }, async () => ({
      reports: await listReports(),
    }))

    app.get(
      '/v1/reports/:name',
      {
        schema: {
          tags,
          summary: 'Run a report: columns and rows (times ISO 8601 UTC)',
          params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9_]+$' }) }),
          querystring: Type.Object({
            account: Type.Optional(Type.Union([Type.Literal('*'), AccountName], { description: "An account, or '*' for every account (admin). Default: the key's account, or '*'" })),
            from: Type.Optional(Type.String({ description: 'Inclusive start (ISO 8601; UTC unless an offset is given)' })),
            to: Type.Optional(Type.String({ description: 'Exclusive end. Default: now' })),
            since: Type.Optional(Type.String({ description: 'Instead of from: how far back from `to`, e.g. 30d, 12h. Default 30d' })),
          }),
          response: {
            200: Type.Object({ columns: Type.Array(Type.String()), rows: Type.Array(Type.Object({}, { additionalProperties: true })) }),
            400: ErrorBody,
            401: ErrorBody,
            404: ErrorBody,
          },
        },
      },
      async (req) => {
        const p = req.principal
        const asked = req.query.account
        if (p.role === 'account' && asked !== undefined && asked !== p.account) throw notFoundAccount(asked)
        const account = p.role === 'account' ? p.account : (asked ?? ALL_ACCOUNTS)
        try {
          const range = resolveReportParams(req.params.name, { account, from: req.query.from, to: req.query.to, since: req.query.since })
          return await runReport(ctx.pool, req.params.name, range)
        } catch (err) {
          if (err instanceof UnknownReportError) throw new HttpError(404, 'not_found', err.shortMessage)
          if (err instanceof MissingReportParameterError || err instanceof BadReportTimeError) throw new HttpError(400, 'bad_request', err.shortMessage)
          throw err
        }
      },
    )
  }
}
