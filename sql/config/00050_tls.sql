-- +goose Up
-- Every certificate mipo has served, newest last; exactly one is active. The private key is
-- sealed (AES-GCM, app.SecretBox), never stored in the clear.
CREATE TABLE tls_certificates (
    id          uuid        PRIMARY KEY,
    source      text        NOT NULL CHECK (source IN ('self-signed', 'uploaded', 'acme')),
    chain_pem   text        NOT NULL,
    key_sealed  text        NOT NULL,
    serial      text        NOT NULL,
    pin         text        NOT NULL,
    not_after   timestamptz NOT NULL,
    active      boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    -- the expiry events already sent for this certificate, so each is sent once
    warned_expiring boolean NOT NULL DEFAULT false,
    warned_expired  boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX tls_certificates_one_active ON tls_certificates (active) WHERE active;

-- The ACME configuration: a single row. Credentials and the account key are sealed.
CREATE TABLE tls_acme (
    singleton           boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled             boolean     NOT NULL,
    directory_url       text        NOT NULL,
    email               text        NOT NULL,
    challenge           text        NOT NULL CHECK (challenge IN ('http-01', 'dns-01')),
    dns_provider        text        NOT NULL DEFAULT '' CHECK (dns_provider IN ('', 'cloudflare', 'route53', 'ovh')),
    credentials_sealed  text        NOT NULL DEFAULT '',
    account_key_sealed  text        NOT NULL DEFAULT '',
    account_uri         text        NOT NULL DEFAULT '',
    next_attempt_at     timestamptz,
    failures            integer     NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL
);

-- Every issuance or renewal attempt, successful or not.
CREATE TABLE tls_acme_attempts (
    id             uuid        PRIMARY KEY,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    ok             boolean     NOT NULL,
    error          text        NOT NULL DEFAULT '',
    certificate_id uuid        REFERENCES tls_certificates (id)
);
CREATE INDEX tls_acme_attempts_started ON tls_acme_attempts (started_at DESC);

-- +goose Down
DROP TABLE tls_acme_attempts;
DROP TABLE tls_acme;
DROP TABLE tls_certificates;
