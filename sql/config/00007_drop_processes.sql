-- +goose Up
-- The processes table was never written or read: health comes from each process's /readyz.
DROP TABLE processes;

-- +goose Down
CREATE TABLE processes (
    id         text        PRIMARY KEY,
    roles      text[]      NOT NULL,
    version    text        NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);
