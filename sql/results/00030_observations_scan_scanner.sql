-- +goose Up
-- Diffs and vantage comparisons read one scan's observations per scanner in address order: an
-- index in exactly that order lets PostgreSQL merge two scans without sorting either.
CREATE INDEX observations_scan_scanner ON observations (scan_id, scanner_id, address, port);
DROP INDEX observations_scan;

-- +goose Down
CREATE INDEX observations_scan ON observations (scan_id, address, port);
DROP INDEX observations_scan_scanner;
