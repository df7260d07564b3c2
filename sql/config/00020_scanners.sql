-- +goose Up
-- The scanner fleet: each mipo-scanner registered with a provisioning token, its API key (a
-- lookup part and a SHA-256 of the secret part, never the key), the source binding every one of
-- its requests is checked against, and what its last heartbeat said. Scanners are never
-- deleted: a disabled one keeps its key, binding and history.
CREATE TABLE scanner_groups (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    location    text        NOT NULL DEFAULT '', -- the network location the group's scanners see from
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX scanner_groups_name ON scanner_groups (lower(name));

CREATE TABLE scanners (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    hostname        text        NOT NULL DEFAULT '',
    version         text        NOT NULL DEFAULT '',
    key_lookup      text        NOT NULL UNIQUE,
    key_hash        bytea       NOT NULL,
    key_created_at  timestamptz NOT NULL,
    binding         text        NOT NULL, -- 192.0.2.10, 192.0.2.0/24, 2001:db8::/48 or AS64500
    disabled        boolean     NOT NULL DEFAULT false,
    disabled_at     timestamptz,
    online          boolean     NOT NULL DEFAULT true,
    registered_at   timestamptz NOT NULL,
    registered_from text        NOT NULL DEFAULT '',
    last_seen_at    timestamptz,
    last_address    text        NOT NULL DEFAULT '',
    capacity        jsonb       NOT NULL DEFAULT '{}', -- max_concurrency, max_rate, fd_limit
    metrics         jsonb,                             -- the last heartbeat's metrics, with rates
    active_jobs     integer     NOT NULL DEFAULT 0,    -- as the last heartbeat said
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX scanners_name ON scanners (lower(name));
CREATE INDEX scanners_last_seen ON scanners (last_seen_at) WHERE online AND NOT disabled;

CREATE TABLE scanner_group_members (
    group_id   uuid NOT NULL REFERENCES scanner_groups (id) ON DELETE CASCADE,
    scanner_id uuid NOT NULL REFERENCES scanners (id),
    PRIMARY KEY (group_id, scanner_id)
);
CREATE INDEX scanner_group_members_scanner ON scanner_group_members (scanner_id);

-- Provisioning tokens: single use, short-lived; only a hash of the secret is kept. What the
-- token says (name, groups, binding) is given to the scanner that registers with it.
CREATE TABLE scanner_tokens (
    id          uuid        PRIMARY KEY,
    lookup      text        NOT NULL UNIQUE,
    secret_hash bytea       NOT NULL,
    name        text        NOT NULL DEFAULT '', -- the scanner's name; '' takes its host name
    group_ids   uuid[]      NOT NULL DEFAULT '{}',
    binding     text        NOT NULL DEFAULT '', -- '' binds the scanner to the address it registers from
    created_by  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    used_from   text        NOT NULL DEFAULT '',
    scanner_id  uuid        REFERENCES scanners (id),
    revoked_at  timestamptz
);

-- Connection history: when each scanner registered, came online, went offline, was disabled.
CREATE TABLE scanner_connections (
    id         bigserial   PRIMARY KEY,
    scanner_id uuid        NOT NULL REFERENCES scanners (id),
    at         timestamptz NOT NULL,
    event      text        NOT NULL CHECK (event IN ('registered', 'online', 'offline', 'disabled', 'enabled')),
    address    text        NOT NULL DEFAULT '',
    detail     text        NOT NULL DEFAULT ''
);
CREATE INDEX scanner_connections_scanner ON scanner_connections (scanner_id, at DESC);

-- Heartbeat history for the fleet health page: one row per heartbeat, pruned after
-- MIPO_SCANNER_HISTORY_RETENTION. Network rates are computed from consecutive counters.
CREATE TABLE scanner_heartbeats (
    scanner_id      uuid             NOT NULL REFERENCES scanners (id),
    at              timestamptz      NOT NULL,
    address         text             NOT NULL DEFAULT '',
    load1           double precision NOT NULL DEFAULT 0,
    cpu_percent     double precision NOT NULL DEFAULT 0,
    mem_used_bytes  bigint           NOT NULL DEFAULT 0,
    mem_total_bytes bigint           NOT NULL DEFAULT 0,
    net_rx_bytes    bigint           NOT NULL DEFAULT 0,
    net_tx_bytes    bigint           NOT NULL DEFAULT 0,
    net_rx_rate     double precision, -- bytes/s since the previous heartbeat; NULL after a counter reset
    net_tx_rate     double precision,
    active_jobs     integer          NOT NULL DEFAULT 0,
    PRIMARY KEY (scanner_id, at)
);
CREATE INDEX scanner_heartbeats_at ON scanner_heartbeats (at);

-- +goose Down
DROP TABLE scanner_heartbeats;
DROP TABLE scanner_connections;
DROP TABLE scanner_tokens;
DROP TABLE scanner_group_members;
DROP TABLE scanners;
DROP TABLE scanner_groups;
