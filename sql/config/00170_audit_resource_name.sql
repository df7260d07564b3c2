-- +goose Up
-- Each audit record keeps the human name its resource had at the time of the change (a user's
-- username, a template's or scanner's name), so the log still reads after a rename or a
-- deletion. Records written before have none (''): their hash never covered a name, and the
-- chain hashes a name only where there is one, so they verify as before.
-- ADD COLUMN rewrites no row and fires no row trigger: the table stays append-only.
ALTER TABLE audit_log ADD COLUMN resource_name text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_log DROP COLUMN resource_name;
