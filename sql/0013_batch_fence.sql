-- A batch is written as one statement (workers/risk/store.ts writeBatchEffects), atomic on its own
-- without BEGIN and COMMIT. Its checkpoint fence must then abort the statement itself when the
-- checkpoint was not where the batch was computed against (another consumer moved it): the
-- statement's last expression calls this, which raises SQLSTATE DXR01 and so undoes every row the
-- statement wrote.
CREATE OR REPLACE FUNCTION dexrisk_checkpoint_moved(shard integer, chain_id integer, expected text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'DXR01',
    MESSAGE = format('checkpoint of shard %s, chain %s is not at %s', shard, chain_id, expected);
END
$$;
