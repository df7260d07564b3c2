-- +goose Up
-- Baselines: the ports expected per address, subnet or subnet group. Versioned like every
-- configuration object: the live row carries its version, and baseline_versions keeps every
-- version's whole body, so what was expected at any moment can be shown (and an evidence pack
-- can carry it).
CREATE TABLE baselines (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    description      text NOT NULL DEFAULT '',
    scope_kind       text NOT NULL CHECK (scope_kind IN ('subnet_group', 'subnet', 'cidr', 'address')),
    scope_ref        text NOT NULL,             -- the subnet or group id, or the CIDR or address
    mode             text NOT NULL CHECK (mode IN ('allow', 'only', 'nothing')),
    ports            text NOT NULL DEFAULT '',  -- explicit ports, such as 22,80,8000-8100
    port_lists       uuid[] NOT NULL DEFAULT '{}',
    port_list_groups uuid[] NOT NULL DEFAULT '{}',
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX baselines_name ON baselines (lower(name));

CREATE TABLE baseline_versions (
    baseline_id uuid NOT NULL,
    version     integer NOT NULL,
    body        jsonb,                  -- NULL: the baseline was deleted at this version
    at          timestamptz NOT NULL,
    actor       text NOT NULL DEFAULT '',
    PRIMARY KEY (baseline_id, version)
);

-- Findings: one row per occurrence of an unexpected open port. At most one occurrence of an
-- address and port is not closed (the partial unique index); one that comes back after it
-- closed is a new row, occurrence + 1.
CREATE TABLE findings (
    id                uuid PRIMARY KEY,
    address           inet NOT NULL,
    port              integer NOT NULL,
    occurrence        integer NOT NULL DEFAULT 1,
    state             text NOT NULL CHECK (state IN ('open', 'accepted', 'risk', 'closed')),
    scanner_id        text NOT NULL DEFAULT '',
    baselines         text[] NOT NULL DEFAULT '{}', -- the baselines that applied, widest first
    first_seen_at     timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    first_scan_id     uuid NOT NULL,
    last_scan_id      uuid NOT NULL,
    severity          text,
    assignee          text NOT NULL DEFAULT '',
    accept_reason     text NOT NULL DEFAULT '',
    accept_expires_at timestamptz,
    accepted_by       text NOT NULL DEFAULT '',
    accepted_at       timestamptz,
    closed_at         timestamptz,
    closed_scan_id    uuid,
    updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX findings_live ON findings (address, port) WHERE state <> 'closed';
CREATE INDEX findings_scan ON findings (first_scan_id);
CREATE INDEX findings_last_scan ON findings (last_scan_id);
CREATE INDEX findings_expiry ON findings (accept_expires_at) WHERE state = 'accepted' AND accept_expires_at IS NOT NULL;
CREATE INDEX findings_address ON findings (address, port);

-- Each finding's history: opened, seen again, closed, and every triage decision with the
-- finding before and after it (the audit log has the same, chained; this is the finding's own
-- view of it, for its page and the evidence pack).
CREATE TABLE finding_events (
    id         bigserial PRIMARY KEY,
    finding_id uuid NOT NULL REFERENCES findings ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    action     text NOT NULL,
    actor      text NOT NULL DEFAULT '',
    scan_id    uuid,
    before     jsonb,
    after      jsonb
);
CREATE INDEX finding_events_finding ON finding_events (finding_id, id);

-- The evidence-signing key: Ed25519, its private half sealed with the SecretBox like every
-- other secret, generated on first use.
CREATE TABLE evidence_keys (
    id          text PRIMARY KEY,
    public_key  text NOT NULL,       -- base64
    private_key text NOT NULL,       -- sealed
    created_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE evidence_keys;
DROP TABLE finding_events;
DROP TABLE findings;
DROP TABLE baseline_versions;
DROP TABLE baselines;
