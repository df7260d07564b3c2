-- +goose Up
-- When each kind of backup runs and how long it is kept. Config (the config and jobs databases)
-- and results run on independent schedules; timing is a scan schedule's timing (cron or preset).
CREATE TABLE backup_schedules (
    kind           text        PRIMARY KEY CHECK (kind IN ('config', 'results')),
    enabled        boolean     NOT NULL DEFAULT true,
    timing         jsonb       NOT NULL,
    retention_days integer     NOT NULL CHECK (retention_days BETWEEN 1 AND 365),
    next_run_at    timestamptz,
    last_run_at    timestamptz
);
INSERT INTO backup_schedules (kind, timing, retention_days) VALUES
    ('config', '{"preset": "daily", "timezone": "UTC"}', 30),
    ('results', '{"preset": "daily", "timezone": "UTC"}', 30);

-- Where backups are replicated. The secret key is sealed with MIPO_SECRET_KEY (app.SecretBox);
-- reading it back is an audited request.
CREATE TABLE backup_replication (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled        boolean NOT NULL DEFAULT false,
    endpoint       text    NOT NULL DEFAULT '',
    bucket         text    NOT NULL DEFAULT '',
    prefix         text    NOT NULL DEFAULT '',
    region         text    NOT NULL DEFAULT '',
    access_key     text    NOT NULL DEFAULT '',
    secret_sealed  text    NOT NULL DEFAULT '',
    insecure       boolean NOT NULL DEFAULT false,
    retention_days integer NOT NULL DEFAULT 90 CHECK (retention_days BETWEEN 1 AND 365)
);
INSERT INTO backup_replication DEFAULT VALUES;

-- +goose Down
DROP TABLE backup_replication;
DROP TABLE backup_schedules;
