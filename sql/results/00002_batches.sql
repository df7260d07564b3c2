-- +goose Up
-- Every results batch a scanner delivered, once: a batch sent again after an outage finds its
-- row here and is acknowledged without being stored twice.
CREATE TABLE result_batches (
    job_id      uuid        NOT NULL,
    batch       integer     NOT NULL CHECK (batch > 0),
    scan_id     uuid        NOT NULL,
    scanner_id  uuid        NOT NULL,
    results     integer     NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, batch)
);

-- What each finished job covered: the addresses and ports it probed. Diffs compare only what
-- both sides covered, so an address outside one scan's scope is neither opened nor closed.
CREATE TABLE job_coverage (
    job_id       uuid        PRIMARY KEY,
    scan_id      uuid        NOT NULL,
    scanner_id   uuid        NOT NULL,
    targets      jsonb       NOT NULL, -- [{"first","last"}]: the addresses fully probed
    ports        text        NOT NULL,
    status       text        NOT NULL, -- done, failed (partial), cancelled (partial)
    completed_at timestamptz NOT NULL
);
CREATE INDEX job_coverage_scan ON job_coverage (scan_id);

-- +goose Down
DROP TABLE job_coverage;
DROP TABLE result_batches;
