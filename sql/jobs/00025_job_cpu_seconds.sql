-- +goose Up
-- The scanner's own CPU seconds for a job, from its completion, so the fleet can be judged by
-- probes per CPU second. NULL: the scanner did not say (one older than the field).
ALTER TABLE jobs ADD COLUMN cpu_seconds double precision;

-- +goose Down
ALTER TABLE jobs DROP COLUMN cpu_seconds;
