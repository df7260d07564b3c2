-- +goose Up
-- System settings, one row per key. Secret values are stored sealed (AES-GCM).
CREATE TABLE settings (
    key        text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE settings;
