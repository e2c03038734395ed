/** The node's current block number (eth_blockNumber), with no client to set up: demos and tests. */
export async function blockNumberOf(rpcUrl: string): Promise<bigint> {
  const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }) })
  return BigInt(((await res.json()) as { result: string }).result)
}
