-- +goose Up
-- The last backup outcome of each kind (config, results), from the backup module's events, so
-- the health module can judge schedule adherence without reading the backup module's tables.
CREATE TABLE health_backups (
    kind           text        PRIMARY KEY,
    last_event     text        NOT NULL, -- backup.succeeded, backup.failed or backup.missed
    last_event_at  timestamptz NOT NULL,
    last_success_at timestamptz,
    detail         jsonb       NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE health_backups;
