import type { RedisClient } from '../db/redis.ts'
import type pg from 'pg'
import type { Common } from '../common.ts'
import type { AccountSnapshot } from './account-view.ts'
import type { Auth } from './auth.ts'
import type { LiveHub } from './live-hub.ts'

/** What the API's routes share. */
export type ApiContext = {
  common: Common
  pool: pg.Pool
  redis: RedisClient
  hub: LiveHub
  /** Key verification (live connections re-check theirs while open). */
  auth: Auth
  /** The account's snapshot, read from Redis and the database after the call (reads are shared). */
  snapshot(account: string): Promise<AccountSnapshot>
}
