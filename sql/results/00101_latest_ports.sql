-- +goose Up
-- The latest state: each open port as each scanner sees it now, kept by ingest as results
-- arrive and as jobs complete. The current open ports of a subnet, the home page and "what is
-- open now" read this small table (one row per open port and scanner) instead of history.
-- first_seen is when the port was first seen open in its current stretch; last_seen and
-- last_scan the latest observation. A completed job removes the rows it covered and did not
-- see again: they closed.
CREATE TABLE latest_ports (
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    port       integer     NOT NULL,
    scanner_id uuid        NOT NULL,
    last_scan  uuid        NOT NULL,
    address    inet        NOT NULL,
    PRIMARY KEY (scanner_id, address, port)
) WITH (fillfactor = 80); -- room on each page for the next scan's update to stay HOT
-- The current open ports of a subnet, whichever scanner saw them.
CREATE INDEX latest_ports_address ON latest_ports (address, port, scanner_id);

-- Fill it from history: per scanner, the ports its latest scan saw.
INSERT INTO latest_ports (first_seen, last_seen, port, scanner_id, last_scan, address)
SELECT DISTINCT ON (scanner_id, address, port) first_value(observed_at) OVER w, observed_at, port, scanner_id, scan_id, address
FROM observations
WINDOW w AS (PARTITION BY scanner_id, address, port ORDER BY observed_at)
ORDER BY scanner_id, address, port, observed_at DESC;

-- +goose Down
DROP TABLE latest_ports;
