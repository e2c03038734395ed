import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { accountNameProblem } from '../../domain/account-name.ts'
import { addWallets, createAccount, deleteAccount, getAccount, listAccounts, removeWallet, setWallets } from '../../domain/account-store.ts'
import { createApiKey, listApiKeys, revokeAccountKeys, revokeApiKey } from '../key-store.ts'
import { withTransaction } from '../../db/pool.ts'
import type { ApiContext } from '../api-context.ts'
import { assertAdmin, assertSees, notFoundAccount } from '../auth.ts'
import { HttpError } from '../http-error.ts'
import { Account, AccountName, AccountParams, CreateAccountBody, CreatedKey, ErrorBody, Me, WalletsBody } from '../schemas.ts'

const tags = ['accounts']
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody }

/** Who am I, accounts and their wallets, and API keys. */
export function accountRoutes(ctx: ApiContext): FastifyPluginAsyncTypebox {
  const auto = ctx.common.config.accounts === 'auto'
  const refuseAuto = (): void => {
    if (auto) throw new HttpError(409, 'auto_accounts', "accounts: 'auto' — every trader wallet is its own account; name accounts in the config to manage them")
  }
  return async (app) => {
    app.get('/v1/me', { schema: { tags, summary: 'The key in use: its role and account', response: { 200: Me, 401: ErrorBody } } }, async (req) => {
      const p = req.principal
      return { keyId: p.keyId, role: p.role, account: p.role === 'account' ? p.account : null }
    })

    app.get(
      '/v1/accounts',
      { schema: { tags, summary: 'Accounts this key sees (an account key: its own)', response: { 200: Type.Object({ accounts: Type.Array(Account) }), ...errors } } },
      async (req) => {
        const p = req.principal
        if (p.role === 'account') return { accounts: auto ? [{ name: p.account, source: 'config' as const, wallets: [p.account] }] : await listAccounts(ctx.pool, p.account) }
        return { accounts: await listAccounts(ctx.pool) }
      },
    )

    app.post('/v1/accounts', { schema: { tags, summary: 'Create an account with its wallets (admin)', body: CreateAccountBody, response: { 201: Account, ...errors } } }, async (req, reply) => {
      assertAdmin(req)
      refuseAuto()
      const account = await withTransaction(ctx.pool, (tx) => createAccount(tx, req.body.name, req.body.wallets))
      return reply.code(201).send(account)
    })

    app.get('/v1/accounts/:account', { schema: { tags, summary: 'An account and its wallets', params: AccountParams, response: { 200: Account, ...errors } } }, async (req) => {
      assertSees(req, req.params.account)
      if (auto) return { name: req.params.account, source: 'config' as const, wallets: [req.params.account] }
      const [found] = await listAccounts(ctx.pool, req.params.account)
      if (!found) throw notFoundAccount(req.params.account)
      return found
    })

    app.put('/v1/accounts/:account/wallets', { schema: { tags, summary: "Replace an account's wallets (admin)", params: AccountParams, body: WalletsBody, response: { 200: Account, ...errors } } }, async (req) => {
      assertAdmin(req)
      refuseAuto()
      return withTransaction(ctx.pool, (tx) => setWallets(tx, req.params.account, req.body.wallets))
    })

    app.post('/v1/accounts/:account/wallets', { schema: { tags, summary: 'Add wallets to an account (admin)', params: AccountParams, body: WalletsBody, response: { 200: Account, ...errors } } }, async (req) => {
      assertAdmin(req)
      refuseAuto()
      return withTransaction(ctx.pool, (tx) => addWallets(tx, req.params.account, req.body.wallets))
    })

    app.delete(
      '/v1/accounts/:account/wallets/:wallet',
      { schema: { tags, summary: 'Remove a wallet from an account (admin)', params: Type.Object({ account: AccountName, wallet: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) }), response: { 200: Account, ...errors } } },
      async (req) => {
        assertAdmin(req)
        refuseAuto()
        return removeWallet(ctx.pool, req.params.account, req.params.wallet)
      },
    )

    app.delete('/v1/accounts/:account', { schema: { tags, summary: 'Delete an account and revoke its keys (admin); its history stays', params: AccountParams, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
      assertAdmin(req)
      refuseAuto()
      await withTransaction(ctx.pool, async (tx) => {
        await deleteAccount(tx, req.params.account)
        await revokeAccountKeys(tx, req.params.account)
      })
      return reply.code(204).send(null)
    })

    app.post(
      '/v1/accounts/:account/keys',
      { schema: { tags: ['keys'], summary: 'Create a key that sees this account alone (admin); the key is shown once', params: AccountParams, body: Type.Object({ label: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }), response: { 201: CreatedKey, ...errors } } },
      async (req, reply) => {
        assertAdmin(req)
        if (auto) {
          const problem = accountNameProblem(req.params.account, 'auto')
          if (problem !== null) throw new HttpError(400, 'bad_request', `account: ${problem}`)
        } else await getAccount(ctx.pool, req.params.account)
        const { key, row } = await createApiKey(ctx.pool, { role: 'account', account: req.params.account }, req.body.label)
        return reply.code(201).send({ id: row.id, key, role: row.role, account: row.account })
      },
    )

    app.get(
      '/v1/keys',
      {
        schema: {
          tags: ['keys'],
          summary: 'Every key (admin): ids, roles, accounts; never the keys',
          querystring: Type.Object({ account: Type.Optional(AccountName) }),
          response: { 200: Type.Object({ keys: Type.Array(Type.Object({ id: Type.String(), role: Type.String(), account: Type.Union([Type.String(), Type.Null()]), label: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]) })) }), ...errors },
        },
      },
      async (req) => {
        assertAdmin(req)
        const keys = await listApiKeys(ctx.pool, req.query.account)
        return { keys: keys.map((k) => ({ ...k, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null })) }
      },
    )

    app.delete('/v1/keys/:id', { schema: { tags: ['keys'], summary: 'Revoke a key (admin)', params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) }), response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
      assertAdmin(req)
      if (!(await revokeApiKey(ctx.pool, req.params.id))) throw new HttpError(404, 'not_found', `no live key "${req.params.id}"`)
      return reply.code(204).send(null)
    })
  }
}
