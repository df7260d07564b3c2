-- +goose Up
-- The audit log: append-only, hash-chained. Each record's hash covers its contents and the
-- previous record's hash, so an edited or removed record breaks the chain at that point.
CREATE TABLE audit_log (
    id            bigint      PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_kind    text        NOT NULL,
    actor_id      text        NOT NULL DEFAULT '',
    actor_name    text        NOT NULL DEFAULT '',
    source_ip     text        NOT NULL DEFAULT '',
    user_agent    text        NOT NULL DEFAULT '',
    request_id    text        NOT NULL DEFAULT '',
    action        text        NOT NULL,
    resource_type text        NOT NULL DEFAULT '',
    resource_id   text        NOT NULL DEFAULT '',
    outcome       text        NOT NULL CHECK (outcome IN ('success', 'failure')),
    diff          jsonb       NOT NULL DEFAULT '[]',
    detail        jsonb       NOT NULL DEFAULT '{}',
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL
);
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);

-- Append-only for real: a trigger refuses UPDATE, DELETE and TRUNCATE for everyone, and mipo's
-- own database role (which owns the table) gives up those privileges as well.
-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
-- +goose StatementBegin
DO $$ BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', current_user);
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
