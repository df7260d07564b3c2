-- +goose Up
-- Alarms: the built-in rules live in code (modules/alarms/rules.go); operators change them only
-- through overrides, so a rule cannot be deleted and an upgrade can improve its defaults.
CREATE TABLE alarm_rule_overrides (
    rule_id        text        PRIMARY KEY,
    severity       text,                       -- NULL: the rule's default
    disabled       boolean     NOT NULL DEFAULT false,
    thresholds     jsonb       NOT NULL DEFAULT '{}', -- only the thresholds that differ from the defaults
    escalate_after interval,                   -- NULL: the rule's default; '0' never escalates
    updated_at     timestamptz NOT NULL
);

-- One row per occurrence. At most one unresolved alarm per key (the partial unique index is
-- the deduplication); a key that fires again after it resolved opens a new row linked to the
-- old one by previous_id.
CREATE TABLE alarms (
    id              uuid        PRIMARY KEY,
    key             text        NOT NULL,
    rule_id         text        NOT NULL,
    component       text        NOT NULL,
    subject         text        NOT NULL DEFAULT '',
    severity        text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    summary         text        NOT NULL,
    detail          jsonb       NOT NULL DEFAULT '{}',
    count           bigint      NOT NULL DEFAULT 1,
    escalations     integer     NOT NULL DEFAULT 0,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text        NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    previous_id     uuid        REFERENCES alarms (id) ON DELETE SET NULL
) WITH (fillfactor = 80);
-- No index covers count, last_seen_at or summary: a bump (the hot path, thousands a second in
-- a storm) then updates the row in place (a HOT update) without touching any index.
CREATE UNIQUE INDEX alarms_one_unresolved_per_key ON alarms (key) WHERE state <> 'resolved';
CREATE INDEX alarms_key_time ON alarms (key, first_seen_at DESC);
CREATE INDEX alarms_unresolved ON alarms (state) WHERE state <> 'resolved';

-- Every transition of an alarm, its timeline. queued turns true once the notifications the
-- routes want for it are in the jobs database's outbox; until then a relay keeps trying.
CREATE TABLE alarm_transitions (
    id        bigserial   PRIMARY KEY,
    alarm_id  uuid        NOT NULL REFERENCES alarms (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    kind      text        NOT NULL CHECK (kind IN ('opened', 'escalated', 'acknowledged', 'resolved')),
    severity  text        NOT NULL,
    actor     text        NOT NULL DEFAULT '',
    comment   text        NOT NULL DEFAULT '',
    queued    boolean     NOT NULL DEFAULT false,
    note      text        NOT NULL DEFAULT '' -- what the relay did: 'sent to 2 channels', 'snoozed: …'
);
CREATE INDEX alarm_transitions_alarm ON alarm_transitions (alarm_id, id);
CREATE INDEX alarm_transitions_unqueued ON alarm_transitions (id) WHERE NOT queued;

-- A maintenance window: alarms of a rule, or of one key, still open and count but notify
-- nobody until the window ends.
CREATE TABLE alarm_snoozes (
    id         uuid        PRIMARY KEY,
    rule_id    text        NOT NULL DEFAULT '',
    alarm_key  text        NOT NULL DEFAULT '',
    until      timestamptz NOT NULL,
    reason     text        NOT NULL,
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    CHECK ((rule_id = '') <> (alarm_key = ''))
);

-- Where notifications go. config holds what is not secret; secret is sealed with the key from
-- .mipo.env (the webhook signing key, the Slack URL, the SMTP password).
CREATE TABLE alarm_channels (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('webhook', 'slack', 'email', 'syslog')),
    enabled         boolean     NOT NULL DEFAULT true,
    config          jsonb       NOT NULL DEFAULT '{}',
    secret          text        NOT NULL DEFAULT '',
    disabled_reason text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX alarm_channels_name ON alarm_channels (lower(name));

-- Which transitions of which severities and rules go to which channel. Empty lists match all.
CREATE TABLE alarm_routes (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    channel_id  uuid        NOT NULL REFERENCES alarm_channels (id) ON DELETE CASCADE,
    transitions text[]      NOT NULL DEFAULT '{}',
    severities  text[]      NOT NULL DEFAULT '{}',
    rules       text[]      NOT NULL DEFAULT '{}',
    enabled     boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX alarm_routes_name ON alarm_routes (lower(name));

-- +goose Down
DROP TABLE alarm_routes;
DROP TABLE alarm_channels;
DROP TABLE alarm_snoozes;
DROP TABLE alarm_transitions;
DROP TABLE alarms;
DROP TABLE alarm_rule_overrides;
