-- +goose Up
-- Observations partitioned by time (without TimescaleDB): one partition per UTC week, created
-- ahead by the results module's job, so a time window or a scan (bounded below by its launch)
-- reads only its weeks, an insert touches only this week's indexes, and retention drops whole
-- partitions instead of deleting rows. A default partition catches a result whose time falls
-- in no partition yet (a scanner's clock far off, or the job late): it lands, and moves to
-- its week's partition when that is created.
--
-- Columns are ordered for size: the fixed-width 8- and 4-byte columns first, then the uuids
-- (byte-aligned), the variable-width inet last, so no alignment padding falls between them.
-- port stays integer: 1..65535 does not fit smallint, and the 2 bytes saved would be padding.
--
-- Where TimescaleDB is installed, observations is already a hypertable (00001) and stays one:
-- the chunks are its partitions, and this migration changes nothing.
-- +goose StatementBegin
DO $$
DECLARE
    lo timestamptz;
    hi timestamptz;
    wk timestamptz;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    ALTER TABLE observations RENAME TO observations_unpartitioned;
    ALTER INDEX observations_time_brin RENAME TO observations_unpartitioned_time_brin;
    ALTER INDEX observations_address RENAME TO observations_unpartitioned_address;
    ALTER INDEX observations_scan_scanner RENAME TO observations_unpartitioned_scan_scanner;

    CREATE TABLE observations (
        observed_at timestamptz NOT NULL,
        port        integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
        rtt_us      integer,
        scan_id     uuid        NOT NULL,
        scanner_id  uuid        NOT NULL,
        job_id      uuid        NOT NULL,
        address     inet        NOT NULL
    ) PARTITION BY RANGE (observed_at);
    -- Every index is per partition. BRIN on time: a few pages per partition prune a time window
    -- within a week. (scan, scanner, address, port): diffs, vantage comparisons and a scan's
    -- history read it in merge order. (address, port): history of a subnet and an address's
    -- timeline. There is no other.
    CREATE INDEX observations_time_brin ON observations USING brin (observed_at);
    CREATE INDEX observations_scan_scanner ON observations (scan_id, scanner_id, address, port);
    CREATE INDEX observations_address ON observations (address, port);
    CREATE TABLE observations_default PARTITION OF observations DEFAULT;

    SELECT min(observed_at), max(observed_at) INTO lo, hi FROM observations_unpartitioned;
    lo := date_trunc('week', coalesce(lo, now()) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi := greatest(coalesce(hi, now()), now()) + interval '4 weeks';
    wk := lo;
    WHILE wk < hi LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF observations FOR VALUES FROM (%L) TO (%L)',
            'observations_w' || to_char(wk AT TIME ZONE 'UTC', 'YYYYMMDD'), wk, wk + interval '1 week');
        wk := wk + interval '1 week';
    END LOOP;
    INSERT INTO observations (observed_at, port, rtt_us, scan_id, scanner_id, job_id, address)
        SELECT observed_at, port, rtt_us, scan_id, scanner_id, job_id, address FROM observations_unpartitioned;
    DROP TABLE observations_unpartitioned;
END
$$;
-- +goose StatementEnd

-- The runtime role may neither create nor drop tables; these two functions, run with the
-- owner's rights, are all it may do to partitions: create the weeks of a window, and drop the
-- weeks that end before a time.

-- observations_partitions_ensure creates the weekly partitions that cover [from, to), moving
-- any rows of those weeks out of the default partition first. It returns the partitions made.
-- +goose StatementBegin
CREATE FUNCTION observations_partitions_ensure(win_from timestamptz, win_to timestamptz)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    wk   timestamptz := date_trunc('week', win_from);
    name text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'observations'::regclass) THEN
        RETURN; -- a hypertable: TimescaleDB makes its own chunks
    END IF;
    IF win_to - win_from > interval '520 weeks' THEN
        RAISE EXCEPTION 'a partition window of at most ten years, not %', win_to - win_from;
    END IF;
    WHILE wk < win_to LOOP
        name := 'observations_w' || to_char(wk, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            -- The default partition may already hold rows of this week: move them in before
            -- attaching, or the attach would find them and refuse.
            EXECUTE format('CREATE TABLE %I (LIKE observations INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format('WITH moved AS (DELETE FROM observations_default WHERE observed_at >= %L AND observed_at < %L RETURNING *)
                INSERT INTO %I SELECT * FROM moved', wk, wk + interval '1 week', name);
            EXECUTE format('ALTER TABLE observations ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, wk, wk + interval '1 week');
            RETURN NEXT name;
        END IF;
        wk := wk + interval '1 week';
    END LOOP;
END
$$;
-- +goose StatementEnd

-- observations_partitions_drop drops every partition whose whole week ends at or before
-- cutoff, and the default partition's rows older than it; it returns the partitions dropped.
-- +goose StatementBegin
CREATE FUNCTION observations_partitions_drop(cutoff timestamptz)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    part record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'observations'::regclass) THEN
        RETURN;
    END IF;
    FOR part IN
        SELECT c.relname, (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'observations'::regclass
        ORDER BY 2
    LOOP
        IF part.upper_bound IS NOT NULL AND part.upper_bound <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            RETURN NEXT part.relname;
        END IF;
    END LOOP;
    DELETE FROM observations_default WHERE observed_at < cutoff;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION observations_partitions_drop(timestamptz);
DROP FUNCTION observations_partitions_ensure(timestamptz, timestamptz);
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'observations'::regclass) THEN
        RETURN;
    END IF;
    ALTER TABLE observations RENAME TO observations_partitioned;
    ALTER INDEX observations_time_brin RENAME TO observations_partitioned_time_brin;
    ALTER INDEX observations_address RENAME TO observations_partitioned_address;
    ALTER INDEX observations_scan_scanner RENAME TO observations_partitioned_scan_scanner;
    CREATE TABLE observations (
        observed_at timestamptz NOT NULL,
        scan_id     uuid        NOT NULL,
        job_id      uuid        NOT NULL,
        scanner_id  uuid        NOT NULL,
        address     inet        NOT NULL,
        port        integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
        rtt_us      integer
    );
    INSERT INTO observations SELECT observed_at, scan_id, job_id, scanner_id, address, port, rtt_us FROM observations_partitioned;
    DROP TABLE observations_partitioned;
    CREATE INDEX observations_time_brin ON observations USING brin (observed_at);
    CREATE INDEX observations_scan_scanner ON observations (scan_id, scanner_id, address, port);
    CREATE INDEX observations_address ON observations (address, port);
END
$$;
-- +goose StatementEnd
