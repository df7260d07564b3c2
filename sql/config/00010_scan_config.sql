-- +goose Up
-- Scan configuration (modules/config): subnets, subnet groups, exclusions, port lists, port list
-- groups, scan templates and template groups. Every family lives in one table because they share
-- one life cycle: a name, a JSON spec, references to each other by id, and a version history.

-- The current state: one row per live object. spec is the family's own fields as the API takes
-- them (name and description included); name is copied out for uniqueness and sorting.
CREATE TABLE config_objects (
    id         uuid        PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('subnet', 'subnet_group', 'exclusion', 'port_list',
                                                    'port_list_group', 'template', 'template_group')),
    name       text        NOT NULL,
    builtin    boolean     NOT NULL DEFAULT false,
    version    integer     NOT NULL CHECK (version > 0),
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX config_objects_name ON config_objects (kind, lower(name));

-- Which object refers to which, for the current state: delete refusal, "used by", cycle checks
-- and name lookups read it. The foreign key on to_id is the last line of defence against
-- deleting something in use; the module refuses first, naming the users.
CREATE TABLE config_refs (
    from_id uuid NOT NULL REFERENCES config_objects (id) ON DELETE CASCADE,
    to_id   uuid NOT NULL REFERENCES config_objects (id),
    PRIMARY KEY (from_id, to_id)
);
CREATE INDEX config_refs_to ON config_refs (to_id);

-- Every version of every object, deletions included, kept for good: what a template meant at
-- any past moment is read from here. No foreign key, so history outlives the object.
CREATE TABLE config_versions (
    object_id uuid        NOT NULL,
    version   integer     NOT NULL CHECK (version > 0),
    kind      text        NOT NULL,
    change    text        NOT NULL CHECK (change IN ('create', 'update', 'delete')),
    spec      jsonb       NOT NULL,
    at        timestamptz NOT NULL,
    actor     text        NOT NULL DEFAULT '',
    PRIMARY KEY (object_id, version)
);
CREATE INDEX config_versions_kind_at ON config_versions (kind, at);

-- History is append-only, like the audit log: a version, once written, is evidence.
-- +goose StatementBegin
CREATE FUNCTION config_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'configuration history is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER config_versions_no_update_delete BEFORE UPDATE OR DELETE ON config_versions
    FOR EACH ROW EXECUTE FUNCTION config_versions_append_only();
CREATE TRIGGER config_versions_no_truncate BEFORE TRUNCATE ON config_versions
    FOR EACH STATEMENT EXECUTE FUNCTION config_versions_append_only();

-- +goose Down
DROP TABLE config_versions;
DROP FUNCTION config_versions_append_only();
DROP TABLE config_refs;
DROP TABLE config_objects;
