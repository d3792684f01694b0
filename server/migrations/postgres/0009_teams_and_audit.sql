-- Teams and the audit log: invitations into an organisation, organisation settings, who
-- changed each key, and an append-only record of every change.

-- Organisation settings (NULL: the deployment's default). `monthly_quota` came in 0004.
ALTER TABLE organizations ADD COLUMN default_rate_limit_rpm BIGINT;

-- Invitations: a pti_ token (stored only as its SHA-256) that lets one email join with a role.
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,            -- normalised: trimmed, lower-case
    role             TEXT NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    invited_by       TEXT NOT NULL,            -- usr_…
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    accepted_at      TIMESTAMPTZ,
    accepted_by      TEXT,                     -- usr_…
    revoked_at       TIMESTAMPTZ
);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at);

-- Who changed a key last and who revoked it (usr_… or key_…), and free-form tags.
ALTER TABLE api_keys ADD COLUMN updated_by TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_by TEXT;
ALTER TABLE api_keys ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';   -- JSON array of strings

-- The audit log, append-only: each entry is written in the transaction of the change it
-- records. The key (organisation, ULID) lists newest first and serves the retention purge.
CREATE TABLE audit_log (
    organization_id  TEXT NOT NULL,
    id               TEXT NOT NULL,            -- aud_… (a ULID: sorts by time)
    action           TEXT NOT NULL,
    actor_type       TEXT NOT NULL,            -- user | api_key | system
    actor_id         TEXT,
    source           TEXT NOT NULL,            -- dashboard | api | system
    ip               TEXT,
    user_agent       TEXT,
    request_id       TEXT,
    resource_type    TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    changes          TEXT NOT NULL,            -- JSON object: field -> [before, after]
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX audit_log_actor ON audit_log (organization_id, actor_id, id);
CREATE INDEX audit_log_resource ON audit_log (organization_id, resource_id, id);
