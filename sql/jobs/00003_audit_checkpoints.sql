-- +goose Up
-- Checkpoints of the audit log, kept apart from it (another database): each says how many
-- records the log held, the id and hash of the last, and when, under an HMAC of MIPO_AUDIT_KEY.
-- A cut-off tail, or a table rewritten as a whole, no longer matches the latest checkpoint.
-- The first checkpoint of an installation is its anchor: it vouches for the records written
-- before the key existed (their hashes are unkeyed SHA-256). Append-only, like the log itself.
CREATE TABLE audit_checkpoints (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL,
    record_count bigint      NOT NULL,
    last_id      bigint      NOT NULL,
    head         bytea       NOT NULL,
    anchor       boolean     NOT NULL DEFAULT false,
    mac          bytea       NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();

-- +goose Down
DROP TABLE audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only();
