-- +goose Up
-- Each ingest process's throughput, written by the process itself every few seconds, so the
-- health pages can show per-node figures whichever process serves them.
CREATE TABLE ingest_nodes (
    node               text             PRIMARY KEY, -- host:pid
    started_at         timestamptz      NOT NULL,
    updated_at         timestamptz      NOT NULL,
    requests_total     bigint           NOT NULL DEFAULT 0,
    results_total      bigint           NOT NULL DEFAULT 0,
    requests_per_s     double precision NOT NULL DEFAULT 0, -- over the last interval
    results_per_s      double precision NOT NULL DEFAULT 0,
    peak_results_per_s double precision NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE ingest_nodes;
