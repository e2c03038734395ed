/**
 * The shard of an account: FNV-1a (32 bit) of its id, modulo the shard count. Stable across
 * processes, versions and platforms; the shard count is fixed per deployment.
 */
export function shardOf(accountId: string, shards: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < accountId.length; i++) {
    h ^= accountId.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h % shards
}

/** Parses a shard list such as "0-3", "1,3" or "2" against the shard count. */
export function parseShardList(spec: string, shards: number): number[] {
  const out = new Set<number>()
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) throw new Error(`--shards: "${part}" is not a shard or range (e.g. 0-3 or 1,3)`)
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (a > b) throw new Error(`--shards: range ${part} is reversed`)
    for (let s = a; s <= b; s++) {
      if (s >= shards) throw new Error(`--shards: shard ${s} does not exist (shards: ${shards}, numbered 0-${shards - 1})`)
      out.add(s)
    }
  }
  return [...out].sort((x, y) => x - y)
}

/** BullMQ queue name of a shard. The braces are a Redis Cluster hash tag: a shard's keys share a slot. */
export function shardQueueName(shard: number): string {
  return `trades-{${shard}}`
}
