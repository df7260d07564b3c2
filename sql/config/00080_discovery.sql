-- +goose Up
-- Discovery sources: where subnets come from (cloud accounts, NetBox, CMDB exports). The secret
-- is sealed with the SecretBox; the subnets themselves live in the config module's objects, in
-- the managed group named by group_id.
CREATE TABLE discovery_sources (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    kind             text NOT NULL,
    settings         jsonb NOT NULL DEFAULT '{}',
    secret           text NOT NULL DEFAULT '',
    upload           text NOT NULL DEFAULT '',
    timing           jsonb,
    require_approval boolean NOT NULL DEFAULT false,
    accept_partial   boolean NOT NULL DEFAULT false,
    group_id         uuid NOT NULL,
    next_run_at      timestamptz,
    last_run_at      timestamptz,
    last_status      text NOT NULL DEFAULT 'never',
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX discovery_sources_name ON discovery_sources (lower(name));
CREATE INDEX discovery_sources_due ON discovery_sources (next_run_at) WHERE next_run_at IS NOT NULL;

-- What each source has reported, by CIDR, and what the operator decided about it.
CREATE TABLE discovery_subnets (
    source_id  uuid NOT NULL REFERENCES discovery_sources ON DELETE CASCADE,
    cidr       cidr NOT NULL,
    subnet_id  uuid NOT NULL,
    name       text NOT NULL,
    origin     jsonb NOT NULL DEFAULT '{}',
    state      text NOT NULL CHECK (state IN ('active', 'pinned', 'excluded', 'retired')),
    seen_at    timestamptz NOT NULL,
    PRIMARY KEY (source_id, cidr)
);

-- Every run: its proposal, the diff it computed, and what became of it.
CREATE TABLE discovery_runs (
    id          uuid PRIMARY KEY,
    source_id   uuid NOT NULL REFERENCES discovery_sources ON DELETE CASCADE,
    trigger     text NOT NULL,
    status      text NOT NULL CHECK (status IN ('dry_run', 'pending_approval', 'applied', 'rejected', 'failed', 'superseded')),
    proposed    jsonb NOT NULL DEFAULT '[]',
    diff        jsonb NOT NULL DEFAULT '{}',
    row_errors  jsonb NOT NULL DEFAULT '[]',
    error       text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);
CREATE INDEX discovery_runs_source ON discovery_runs (source_id, started_at DESC);

-- +goose Down
DROP TABLE discovery_runs;
DROP TABLE discovery_subnets;
DROP TABLE discovery_sources;
