-- +goose Up
-- Each role process's latest self-report (every 15 s), so whichever process serves the health
-- pages sees every process. A process that stops reporting shows as stale, then red.
CREATE TABLE health_processes (
    process     text        PRIMARY KEY, -- host:pid
    roles       text[]      NOT NULL,
    version     text        NOT NULL,
    started_at  timestamptz NOT NULL,
    reported_at timestamptz NOT NULL,
    report      jsonb       NOT NULL     -- cpu, memory, goroutines, requests, pools
);

-- The last outcome of each probe (database, edge, dns, tls, backup, dispatcher): the overview's
-- colours and "last check" come from here.
CREATE TABLE health_probes (
    component  text        PRIMARY KEY,
    ok         boolean     NOT NULL,
    detail     jsonb       NOT NULL DEFAULT '{}',
    checked_at timestamptz NOT NULL
);

-- Metric history: raw points (step 0) for a day, 5-minute buckets (step 300) for 30 days,
-- hourly buckets (step 3600) for a year. min/avg/max survive every downsampling; n weighs avg.
CREATE TABLE health_series (
    series text COLLATE "C" NOT NULL, -- component/metric, e.g. database:jobs/latency_ms (C: prefix scans use the key)
    step   integer          NOT NULL CHECK (step IN (0, 300, 3600)),
    at     timestamptz      NOT NULL,
    min    double precision NOT NULL,
    avg    double precision NOT NULL,
    max    double precision NOT NULL,
    n      integer          NOT NULL,
    PRIMARY KEY (series, step, at)
);

-- +goose Down
DROP TABLE health_series;
DROP TABLE health_probes;
DROP TABLE health_processes;
