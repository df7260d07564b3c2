-- +goose Up
-- Widget dashboards: a user's own (shared = false) or shared with everyone who may view
-- dashboards. The layout is the grid: widget kind, position, size and options, as JSON the UI
-- and the API agree on (modules/health/dashboards.go checks it).
CREATE TABLE dashboards (
    id         uuid        PRIMARY KEY,
    owner_id   uuid        NOT NULL,
    name       text        NOT NULL,
    shared     boolean     NOT NULL DEFAULT false,
    widgets    jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX dashboards_owner ON dashboards (owner_id);

-- +goose Down
DROP TABLE dashboards;
