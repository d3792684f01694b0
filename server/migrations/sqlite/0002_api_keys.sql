-- API keys. A key (id, settings) has one or more secrets: the current one, and during a
-- rotation's grace period the one it replaced. Secrets are stored as SHA-256 (the lookup) and
-- sealed with the master key (for the playground); never in clear.

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    prefix           TEXT NOT NULL,      -- display prefix of the current secret
    scopes           TEXT NOT NULL,      -- JSON array of scope names
    domains          TEXT NOT NULL,      -- JSON array of hostnames; [] = all
    allowed_ips      TEXT NOT NULL,      -- JSON array of addresses / CIDRs; [] = anywhere
    expires_at       TEXT,
    rate_limit_rpm   INTEGER,
    revoked_at       TEXT,
    blocked          BOOLEAN NOT NULL DEFAULT FALSE,
    blocked_reason   TEXT,
    last_used_at     TEXT,
    last_used_ip     TEXT,
    created_by       TEXT NOT NULL,
    rotated_from     TEXT,
    rotated_at       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX api_keys_organization ON api_keys (organization_id, created_at);

CREATE TABLE api_key_secrets (
    key_hash       BLOB PRIMARY KEY,     -- SHA-256 of the whole key
    key_id         TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    prefix         TEXT NOT NULL,
    sealed         BLOB NOT NULL,        -- AES-256-GCM: nonce || ciphertext
    master_key_id  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT                  -- the end of the grace period, once rotated away
);
CREATE INDEX api_key_secrets_key ON api_key_secrets (key_id);
