import { Type, type Static } from '@fastify/type-provider-typebox'
import { ACCOUNT_NAME_PATTERN } from '../domain/account-name.ts'

/** Request and response schemas: they validate input and feed the OpenAPI document at /docs. */

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { $id: 'Error' })

/** An account name as a route parameter or a field: src/domain/account-name.ts says what may be one. */
export const AccountName = Type.String({ pattern: ACCOUNT_NAME_PATTERN, description: 'Account name (auto mode: the wallet address, lowercase)' })

export const AccountParams = Type.Object({ account: AccountName })

export const Wallets = Type.Array(Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }), { maxItems: 1000 })

export const Account = Type.Object({
  name: Type.String(),
  source: Type.Union([Type.Literal('config'), Type.Literal('api')], { description: "'config': declared in the config file, read-only here" }),
  wallets: Type.Array(Type.String()),
})

export const CreateAccountBody = Type.Object({ name: AccountName, wallets: Wallets }, { additionalProperties: false })
export const WalletsBody = Type.Object({ wallets: Wallets }, { additionalProperties: false })

export const Page = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound (ISO 8601)' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound (ISO 8601)' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ description: "The previous page's `next`" })),
})
export type PageQuery = Static<typeof Page>

/** An object whose fields are documented elsewhere (the read model's types) and passed through whole. */
export const Passthrough = (description: string) => Type.Object({}, { additionalProperties: true, description })

export const Paged = (item: ReturnType<typeof Passthrough>) => Type.Object({ items: Type.Array(item), next: Type.Union([Type.String(), Type.Null()]) })

export const Me = Type.Object({ keyId: Type.String(), role: Type.Union([Type.Literal('admin'), Type.Literal('account')]), account: Type.Union([Type.String(), Type.Null()]) })

export const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The whole key; shown once, only its hash is stored' }),
  role: Type.String(),
  account: Type.Union([Type.String(), Type.Null()]),
})
