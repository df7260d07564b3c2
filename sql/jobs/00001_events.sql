-- +goose Up
-- The event bus: every event is kept, and one delivery row per interested subscriber is
-- created in the same transaction, so each subscriber sees each event at least once even if
-- the process that should handle it was down when it was emitted.
CREATE TABLE events (
    id         bigserial   PRIMARY KEY,
    type       text        NOT NULL,
    subject    text        NOT NULL DEFAULT '',
    source     text        NOT NULL DEFAULT '',
    payload    jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_type_time ON events (type, created_at);
CREATE INDEX events_created ON events (created_at);

-- Subscribers announce themselves at start-up with the event type patterns they handle
-- ("scanner.*" matches "scanner.offline").
CREATE TABLE event_subscribers (
    name       text        PRIMARY KEY,
    patterns   text[]      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_deliveries (
    subscriber      text        NOT NULL REFERENCES event_subscribers (name) ON DELETE CASCADE,
    event_id        bigint      NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    PRIMARY KEY (subscriber, event_id)
);
CREATE INDEX event_deliveries_due ON event_deliveries (subscriber, next_attempt_at);

-- +goose Down
DROP TABLE event_deliveries;
DROP TABLE event_subscribers;
DROP TABLE events;
