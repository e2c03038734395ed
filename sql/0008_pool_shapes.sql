-- Pools of the families added with issue 3: singleton pools (uniswap-v4, balancer-v2) are keyed by
-- their pool id in `address` and name the contract that emits their events; curve and balancer-v2
-- pools can hold more than two coins; V4 pools have hooks and a tick spacing.
ALTER TABLE pools ADD COLUMN IF NOT EXISTS tokens       text[];   -- every coin in index order (NULL: token0, token1)
ALTER TABLE pools ADD COLUMN IF NOT EXISTS underlying   text[];   -- curve: the coins TokenExchangeUnderlying ids index
ALTER TABLE pools ADD COLUMN IF NOT EXISTS singleton    text;     -- V4 PoolManager, Balancer Vault (NULL: the pool is its own contract)
ALTER TABLE pools ADD COLUMN IF NOT EXISTS hooks        text;     -- uniswap-v4 hooks contract
ALTER TABLE pools ADD COLUMN IF NOT EXISTS tick_spacing integer;  -- uniswap-v4
