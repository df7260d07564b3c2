-- +goose Up
-- Open now, kept at each scan's completion (modules/results/open_now.go): per template, the
-- ports its latest completed scan found open, one row per scanner, address and port, with
-- first_seen the start of the port's current stretch open in the template's scans. A scan's
-- completion writes only what changed against the scan the rows held, so a rescan that changes
-- nothing writes one row of open_now_scans, ingest writes nothing here, and the Open ports page
-- reads this small table whatever the years of history kept.
--
-- It replaces latest_ports, which ingest kept per observation (a third of ingest's work) and
-- no page read. That table stays for one release, for the ingest nodes of the previous one
-- during a rolling upgrade; the next release drops it.
CREATE TABLE open_now_scans (
    template_id    uuid        PRIMARY KEY,
    scan_id        uuid,                    -- the scan the rows are of; null until first kept
    finished_at    timestamptz,
    scanners       uuid[]      NOT NULL DEFAULT '{}', -- those with rows, in order
    first_observed timestamptz,             -- the scan's observations lie between these two:
    last_observed  timestamptz,             -- a row's last_seen is looked up there only
    kept_at        timestamptz
);
-- first_seen and port first: the fixed-width columns, then the uuids and the address.
CREATE TABLE open_now (
    first_seen  timestamptz NOT NULL,
    port        integer     NOT NULL,
    template_id uuid        NOT NULL,
    scanner_id  uuid        NOT NULL,
    address     inet        NOT NULL,
    PRIMARY KEY (template_id, scanner_id, address, port)
);
-- The open ports of a subnet, in the order the page lists them.
CREATE INDEX open_now_address ON open_now (address, port, scanner_id);
-- Filled by the first read of each template's open ports, or its next scan's completion.

-- +goose Down
DROP TABLE open_now;
DROP TABLE open_now_scans;
