-- A read-only login for Grafana on the compose TimescaleDB. docker-compose.yml mounts this file into
-- the image's /docker-entrypoint-initdb.d, which runs it once, when the data volume is created. On a
-- volume created earlier, run it by hand:
--   docker compose exec -T timescaledb psql -U postgres -d dexrisk < grafana/postgres/grafana-reader.sql
-- pg_read_all_data (PostgreSQL 14+) reads every table and view, those created later by
-- `dexrisk migrate` included, and writes nothing. Change the password for anything but a laptop
-- (and DEXRISK_PG_PASSWORD on the grafana service with it).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_reader') THEN
    CREATE ROLE grafana_reader LOGIN PASSWORD 'grafana_reader';
  END IF;
END
$$;
GRANT pg_read_all_data TO grafana_reader;
