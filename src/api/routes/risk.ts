import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ApiContext } from '../api-context.ts'
import { readSummary } from '../account-view.ts'
import { assertSees } from '../auth.ts'
import { HttpError } from '../http-error.ts'
import { pagedQuery } from '../paged-query.ts'
import { AccountParams, ErrorBody, Page, Paged, Passthrough } from '../schemas.ts'

const tags = ['risk']
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }

/** Current risk from the Redis read model; history of metrics, trades and alerts from TimescaleDB. */
export function riskRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const { config } = ctx.common
  return async (app) => {
    app.get(
      '/v1/accounts/:account/risk',
      { schema: { tags, summary: "The account's latest metrics (AccountSummary of the read model)", params: AccountParams, response: { 200: Passthrough('AccountSummary: account, shard, chainId, block, time, halted, metrics'), ...errors } } },
      async (req) => {
        assertSees(req, req.params.account)
        const summary = await readSummary(ctx.redis, config.queue.prefix, config.shards, req.params.account)
        if (!summary) throw new HttpError(404, 'not_found', `no risk computed yet for account "${req.params.account}"`)
        return summary
      },
    )

    app.get(
      '/v1/accounts/:account/positions',
      {
        schema: {
          tags,
          summary: 'Positions: quantity (raw integer, as a string), average cost, realized PnL, and the latest price and value',
          params: AccountParams,
          response: { 200: Type.Object({ positions: Type.Array(Passthrough('a position')) }), ...errors },
        },
      },
      async (req) => {
        const { account } = req.params
        assertSees(req, account)
        const [rows, summary] = await Promise.all([
          ctx.pool.query<{ chain_id: number; token: string; quantity: string; cost_usd: number; realized_pnl_usd: number; unpriced_cost: boolean; updated_block: string }>(
            `SELECT chain_id, token, quantity::text AS quantity, cost_usd, realized_pnl_usd, unpriced_cost, updated_block::text AS updated_block
             FROM positions WHERE account = $1 ORDER BY chain_id, token`,
            [account],
          ),
          readSummary(ctx.redis, config.queue.prefix, config.shards, account),
        ])
        const latest = new Map((summary?.metrics.exposureByToken ?? []).map((e) => [`${e.chainId}:${e.token}`, e]))
        return {
          positions: rows.rows.map((r) => {
            const e = latest.get(`${r.chain_id}:${r.token}`)
            return {
              chainId: r.chain_id,
              token: r.token,
              asset: e?.asset ?? null,
              quantity: r.quantity,
              costUsd: r.cost_usd,
              realizedPnlUsd: r.realized_pnl_usd,
              unpricedCost: r.unpriced_cost,
              priceUsd: e?.priceUsd ?? null,
              valueUsd: e?.valueUsd ?? null,
              updatedBlock: r.updated_block,
            }
          }),
        }
      },
    )

    app.get(
      '/v1/accounts/:account/history',
      { schema: { tags, summary: 'Risk snapshots, newest first, paged', params: AccountParams, querystring: Page, response: { 200: Paged(Passthrough('a risk snapshot')), ...errors } } },
      async (req) => {
        assertSees(req, req.params.account)
        return pagedQuery(
          ctx.pool,
          {
            select: `time, chain_id AS "chainId", block_number::text AS block, equity_usd AS "equityUsd", gross_exposure_usd AS "grossExposureUsd",
              net_exposure_usd AS "netExposureUsd", unpriced_positions AS "unpricedPositions", largest_asset_share AS "largestAssetShare", hhi,
              realized_pnl_usd AS "realizedPnlUsd", unrealized_pnl_usd AS "unrealizedPnlUsd", total_pnl_usd AS "totalPnlUsd", daily_pnl_usd AS "dailyPnlUsd",
              drawdown_usd AS "drawdownUsd", drawdown_pct AS "drawdownPct", max_drawdown_usd AS "maxDrawdownUsd", max_drawdown_pct AS "maxDrawdownPct",
              var95_usd AS "var95Usd", var99_usd AS "var99Usd", es95_usd AS "es95Usd", es99_usd AS "es99Usd",
              parametric_var95_usd AS "parametricVar95Usd", parametric_var99_usd AS "parametricVar99Usd", var_method AS "varMethod", unpriced_positions > 0 AS "varIncomplete", metrics`,
            table: 'risk_snapshots',
            timeColumn: 'time',
            keyColumns: ['chain_id', 'block_number'],
          },
          req.params.account,
          req.query,
        )
      },
    )

    app.get(
      '/v1/accounts/:account/trades',
      { schema: { tags, summary: "The account's trades, newest first, paged (amounts raw integers as strings)", params: AccountParams, querystring: Page, response: { 200: Paged(Passthrough('a trade')), ...errors } } },
      async (req) => {
        assertSees(req, req.params.account)
        return pagedQuery(
          ctx.pool,
          {
            select: `block_time AS time, chain_id AS "chainId", block_number::text AS block, tx_hash AS "txHash", log_index AS "logIndex", wallet, pool,
              dex_name AS dex, token_in AS "tokenIn", token_out AS "tokenOut", amount_in::text AS "amountIn", amount_out::text AS "amountOut", amount_usd AS "amountUsd"`,
            table: 'account_trades',
            timeColumn: 'block_time',
            keyColumns: ['chain_id', 'tx_hash', 'log_index'],
          },
          req.params.account,
          req.query,
        )
      },
    )

    app.get(
      '/v1/accounts/:account/alerts',
      { schema: { tags, summary: "The account's alerts (firings and resolutions), newest first, paged", params: AccountParams, querystring: Page, response: { 200: Paged(Passthrough('an alert')), ...errors } } },
      async (req) => {
        assertSees(req, req.params.account)
        return pagedQuery(
          ctx.pool,
          {
            select: `time, id, state, rule_id AS "ruleId", metric, op, threshold, hysteresis, severity, action, value, fired_at AS "firedAt",
              chain_id AS "chainId", block_number::text AS block, metrics`,
            table: 'alerts',
            timeColumn: 'time',
            keyColumns: ['id', 'state'],
          },
          req.params.account,
          req.query,
        )
      },
    )
  }
}
