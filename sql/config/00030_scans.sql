-- +goose Up
-- A scan: one run of a template, with the scope it meant frozen at launch.
CREATE TABLE scans (
    id                uuid        PRIMARY KEY,
    template_id       uuid        NOT NULL,
    template_name     text        NOT NULL,
    template_version  integer     NOT NULL,
    template_group_id uuid,
    schedule_id       uuid,
    scope             jsonb       NOT NULL,
    mode              text        NOT NULL CHECK (mode IN ('pool', 'vantage')),
    scanner_ids       uuid[]      NOT NULL DEFAULT '{}', -- who was given its jobs
    status            text        NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    status_detail     text        NOT NULL DEFAULT '',
    addresses         numeric     NOT NULL,
    ports             integer     NOT NULL,
    probes            numeric     NOT NULL,
    jobs_total        integer     NOT NULL DEFAULT 0,
    jobs_failed       integer     NOT NULL DEFAULT 0,
    completion        real        NOT NULL DEFAULT 0, -- percent, kept when the scan ends
    launched_by       text        NOT NULL,
    created_at        timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz
);
CREATE INDEX scans_created ON scans (created_at DESC);
CREATE INDEX scans_template ON scans (template_id, created_at DESC);
CREATE INDEX scans_open ON scans (status) WHERE status IN ('pending', 'running');

-- Jobs that stalled, so their later completion can be announced as a recovery.
CREATE TABLE scan_stalls (
    job_id       uuid        NOT NULL,
    scan_id      uuid        NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    scanner_id   uuid,
    attempt      integer     NOT NULL,
    stalled_at   timestamptz NOT NULL,
    recovered_at timestamptz,
    PRIMARY KEY (job_id, attempt)
);

-- Schedules launch a template, or every template of a template group, when due.
CREATE TABLE schedules (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL,
    template_id       uuid,
    template_group_id uuid,
    timing            jsonb       NOT NULL,
    enabled           boolean     NOT NULL DEFAULT true,
    next_run_at       timestamptz,
    last_run_at       timestamptz,
    last_error        text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK ((template_id IS NULL) <> (template_group_id IS NULL))
);
CREATE UNIQUE INDEX schedules_name ON schedules (lower(name));
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled;

-- +goose Down
DROP TABLE schedules;
DROP TABLE scan_stalls;
DROP TABLE scans;
