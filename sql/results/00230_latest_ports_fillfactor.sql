-- +goose Up
-- A rescan updates every port of a page of latest_ports in one batch. An update stays HOT (no
-- new index entries, no new page) only where the page has room for the new version, so a page
-- must keep half of itself free: at fillfactor 80 only about a quarter of a rescan's updates
-- stayed HOT, and each of the others added an entry to both indexes. The columns an update
-- changes (first_seen, last_seen, last_scan) are in no index, as they must stay for this.
-- CLUSTER rewrites the rows already there to the new fill, in the key order batches lock in.
ALTER TABLE latest_ports SET (fillfactor = 50);
CLUSTER latest_ports USING latest_ports_pkey;

-- +goose Down
ALTER TABLE latest_ports SET (fillfactor = 80);
