-- +goose Up
-- The scanner process's open file descriptors and soft limit at each heartbeat, for the
-- resource-pressure alarm and the fleet page. NULL: the scanner did not say (an older one, or
-- one on a platform without /proc/self/fd).
ALTER TABLE scanner_heartbeats ADD COLUMN fd_open integer, ADD COLUMN fd_limit integer;

-- +goose Down
ALTER TABLE scanner_heartbeats DROP COLUMN fd_open, DROP COLUMN fd_limit;
