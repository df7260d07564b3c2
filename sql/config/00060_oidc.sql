-- +goose Up
-- OpenID Connect providers people sign in through. The client secret is sealed with
-- MIPO_SECRET_KEY (app.SecretBox); role_rules map a claim's value to a mipo role and are
-- re-evaluated at every sign-in. Role ids are checked when saved, not by a foreign key: roles
-- belong to rbac, and a deleted role simply stops matching.
CREATE TABLE oidc_providers (
    id              uuid        PRIMARY KEY,
    display_name    text        NOT NULL,
    button_label    text        NOT NULL,
    issuer          text        NOT NULL,
    client_id       text        NOT NULL,
    client_secret   text        NOT NULL,
    scopes          text[]      NOT NULL,
    enabled         boolean     NOT NULL DEFAULT true,
    link_by_email   boolean     NOT NULL DEFAULT false,
    create_users    boolean     NOT NULL DEFAULT false,
    default_role_id uuid,
    role_rules      jsonb       NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX oidc_providers_name ON oidc_providers (lower(display_name));

-- A sign-in under way: the browser holds the state in a cookie, the server the nonce and the
-- PKCE verifier. Only a hash of the state is stored; a row is used once and lives minutes.
CREATE TABLE oidc_logins (
    state_hash    bytea       PRIMARY KEY,
    provider_id   uuid        NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    redirect_uri  text        NOT NULL,
    created_at    timestamptz NOT NULL
);

-- The ID token of a session begun through a provider, for RP-initiated logout.
CREATE TABLE oidc_sessions (
    session_id  uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES oidc_providers (id) ON DELETE CASCADE,
    id_token    text NOT NULL
);

-- +goose Down
DROP TABLE oidc_sessions;
DROP TABLE oidc_logins;
DROP TABLE oidc_providers;
