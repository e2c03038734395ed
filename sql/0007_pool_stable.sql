-- Solidly-style pools (Velodrome, Aerodrome) are stable (x³y + y³x) or volatile (x·y) by the flag
-- their factory's event carries; only a volatile pool's reserves give its price. NULL: not such a pool.
ALTER TABLE pools ADD COLUMN IF NOT EXISTS stable boolean;
