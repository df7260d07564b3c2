-- +goose Up
-- Every open port a scanner saw: when, where, by which scan, job and scanner.
CREATE TABLE observations (
    observed_at timestamptz NOT NULL,
    scan_id     uuid        NOT NULL,
    job_id      uuid        NOT NULL,
    scanner_id  uuid        NOT NULL,
    address     inet        NOT NULL,
    port        integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    rtt_us      integer
);

-- A TimescaleDB hypertable where the extension is installed; otherwise a plain table whose
-- BRIN index on time keeps time-window queries cheap at any size. The same queries run on both.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('observations', 'observed_at', chunk_time_interval => interval '7 days');
    ELSE
        CREATE INDEX observations_time_brin ON observations USING brin (observed_at);
    END IF;
END
$$;
-- +goose StatementEnd

CREATE INDEX observations_scan ON observations (scan_id, address, port);
CREATE INDEX observations_address ON observations (address, port);

-- +goose Down
DROP TABLE observations;
