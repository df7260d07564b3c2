-- +goose Up
-- Each completed scan's open ports as a key set: per scanner, its distinct (address, port) keys
-- in order, packed into chunks (keys.go). Made once when the scan completes, from one pass
-- over its observations; after that a diff of two completed scans reads these chunks (a few
-- dozen rows) instead of two million index entries, so its cost follows the scans, not the
-- history. A key set is whole or absent: it counts the batches the scan had when it was made,
-- and a batch stored later (a former holder's late results) makes it stale, read past by the
-- diff until it is made again.
CREATE TABLE scan_key_sets (
    scan_id        uuid        PRIMARY KEY,
    scanners       uuid[]      NOT NULL, -- those with observations, in order
    batches        integer     NOT NULL, -- the scan's result_batches when it was made
    distinct_keys  bigint      NOT NULL, -- distinct (address, port) across its scanners
    first_observed timestamptz,          -- its oldest observation: retention drops the set with it
    made_at        timestamptz NOT NULL
);
CREATE TABLE scan_key_chunks (
    scan_id    uuid    NOT NULL REFERENCES scan_key_sets ON DELETE CASCADE,
    scanner_id uuid    NOT NULL,
    seq        integer NOT NULL,
    last_key   bytea   NOT NULL, -- the chunk's last key, packed: where a page resumes
    keys       bytea   NOT NULL, -- the keys, packed, in order
    PRIMARY KEY (scan_id, scanner_id, seq)
);
-- Packed keys barely compress, and decompressing them would cost every diff.
ALTER TABLE scan_key_chunks ALTER COLUMN keys SET STORAGE EXTERNAL;
-- A key set is checked against its scan's batch count.
CREATE INDEX result_batches_scan ON result_batches (scan_id);

-- +goose Down
DROP INDEX result_batches_scan;
DROP TABLE scan_key_chunks;
DROP TABLE scan_key_sets;
