-- +goose Up
-- What each completed scan found, worked out once when it completes: its open ports, and what
-- opened and closed against the template's previous completed scan (null when it is the first).
-- The scans list, the scan page and the home page read these counts instead of diffing
-- observations on every view; sample keeps the first changes for the home page.
CREATE TABLE scan_outcomes (
    scan_id          uuid        PRIMARY KEY,
    template_id      uuid        NOT NULL,
    previous_scan_id uuid,
    finished_at      timestamptz NOT NULL,
    open_ports       integer     NOT NULL,
    opened           integer,
    closed           integer,
    sample           jsonb       NOT NULL DEFAULT '{}',
    computed_at      timestamptz NOT NULL
);
CREATE INDEX scan_outcomes_finished ON scan_outcomes (finished_at);

-- +goose Down
DROP TABLE scan_outcomes;
