-- Dashboard accounts: organisations, their users, and sessions.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,   -- normalised: trimmed, lower-case
    password_hash  TEXT NOT NULL,          -- argon2id PHC string
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    token_hash       BYTEA NOT NULL UNIQUE,  -- SHA-256 of the pts_ token; the token is never stored
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    revoked_at       TIMESTAMPTZ
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
