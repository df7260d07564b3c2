-- +goose Up
-- Every lease of a job: which scanner held which attempt, from when. A job re-queued after a
-- stall changes hands, but the results its former holder observed are real: ingest accepts
-- them from a scanner listed here (and only from one), under that attempt's batch numbers,
-- while the scan has not finished (docs/scanner-protocol.md, "Late results").
CREATE TABLE job_holders (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt    integer     NOT NULL CHECK (attempt > 0),
    scanner_id uuid        NOT NULL,
    leased_at  timestamptz NOT NULL,
    PRIMARY KEY (job_id, attempt)
);

-- +goose Down
DROP TABLE job_holders;
