-- +goose Up
-- The notification outbox: one row per (alarm transition, channel), written by the relay from
-- the config database's unqueued transitions (the unique key makes a repeated relay harmless).
-- Any dispatcher process claims due rows with FOR UPDATE SKIP LOCKED and holds the lock while it
-- sends, so a process that dies mid-send releases its rows to the others at once. id is the
-- webhook-id: the same on every retry, so receivers can drop repeats.
CREATE TABLE notification_outbox (
    id              uuid        PRIMARY KEY,
    transition_id   bigint      NOT NULL,
    channel_id      uuid        NOT NULL,
    alarm_id        uuid        NOT NULL,
    message         jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'dropped')),
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    finished_at     timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    UNIQUE (transition_id, channel_id)
);
CREATE INDEX notification_outbox_due ON notification_outbox (next_attempt_at, transition_id) WHERE state = 'pending';

-- The delivery log: every attempt, including channel tests, read-only for operators.
CREATE TABLE notification_attempts (
    id          bigserial   PRIMARY KEY,
    outbox_id   uuid,
    channel_id  uuid        NOT NULL,
    alarm_id    uuid,
    kind        text        NOT NULL DEFAULT '', -- the transition, or 'test'
    at          timestamptz NOT NULL,
    attempt     integer     NOT NULL,
    ok          boolean     NOT NULL,
    status_code integer     NOT NULL DEFAULT 0,
    latency_ms  integer     NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX notification_attempts_time ON notification_attempts (at DESC, id DESC);
CREATE INDEX notification_attempts_channel ON notification_attempts (channel_id, at DESC);

-- +goose Down
DROP TABLE notification_attempts;
DROP TABLE notification_outbox;
