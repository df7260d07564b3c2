-- +goose Up
-- Scan jobs: one batch of a scan's scope for one scanner (a vantage job) or for any scanner of
-- a pool. The dispatcher creates them, scanners lease them through ingest, the reconciler
-- re-queues the ones whose progress went silent.
CREATE TABLE jobs (
    id                   uuid        PRIMARY KEY,
    scan_id              uuid        NOT NULL,
    kind                 text        NOT NULL CHECK (kind IN ('pool', 'vantage')),
    scanner_id           uuid,           -- vantage: the one scanner; pool: whoever leased it
    pool                 uuid[]      NOT NULL DEFAULT '{}', -- pool: the scanners that may lease it
    seq                  integer     NOT NULL, -- order within the scan
    targets              jsonb       NOT NULL, -- [{"first","last"}]
    ports                text        NOT NULL, -- normalised port list
    hosts_total          bigint      NOT NULL,
    ports_total          bigint      NOT NULL,
    rate_limit           integer     NOT NULL DEFAULT 0,
    concurrency          integer     NOT NULL DEFAULT 0,
    timeout_ms           integer     NOT NULL,
    retries              integer     NOT NULL,
    max_duration_seconds integer     NOT NULL DEFAULT 0,
    status               text        NOT NULL CHECK (status IN ('queued', 'leased', 'running', 'done', 'failed', 'cancelled')),
    attempts             integer     NOT NULL DEFAULT 0,
    max_attempts         integer     NOT NULL DEFAULT 3,
    cancel_requested     boolean     NOT NULL DEFAULT false,
    leased_at            timestamptz,
    hosts_done           bigint      NOT NULL DEFAULT 0,
    ports_probed         bigint      NOT NULL DEFAULT 0,
    progress_at          timestamptz,
    batches              integer,
    error                text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    finished_at          timestamptz
);
CREATE INDEX jobs_queue ON jobs (status, created_at) WHERE status = 'queued';
CREATE INDEX jobs_scan ON jobs (scan_id, seq);
CREATE INDEX jobs_active ON jobs (status, progress_at) WHERE status IN ('leased', 'running');
CREATE INDEX jobs_scanner ON jobs (scanner_id) WHERE status IN ('leased', 'running');

-- +goose Down
DROP TABLE jobs;
