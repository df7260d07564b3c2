-- +goose Up
-- A results batch belongs to one attempt of its job: a job re-queued after a stall is scanned
-- again by its next holder, whose batches count from 1 again, while the former holder's
-- spooled batches still arrive. Keying by attempt keeps both. Rows from before this column
-- are attempt 0, and count for whichever attempt asks (see results.ReceivedBatches).
ALTER TABLE result_batches ADD COLUMN attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0);
ALTER TABLE result_batches DROP CONSTRAINT result_batches_pkey;
ALTER TABLE result_batches ADD PRIMARY KEY (job_id, attempt, batch);

-- +goose Down
DELETE FROM result_batches a USING result_batches b
    WHERE a.job_id = b.job_id AND a.batch = b.batch AND a.attempt > b.attempt;
ALTER TABLE result_batches DROP CONSTRAINT result_batches_pkey;
ALTER TABLE result_batches ADD PRIMARY KEY (job_id, batch);
ALTER TABLE result_batches DROP COLUMN attempt;
