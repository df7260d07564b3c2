-- +goose Up
-- Which processes are running, with their roles: the health pages and `mipo serve` read it.
CREATE TABLE processes (
    id         text        PRIMARY KEY,
    roles      text[]      NOT NULL,
    version    text        NOT NULL,
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE processes;
