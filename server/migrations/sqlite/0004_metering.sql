-- Metering: per-organisation monthly quotas, the request log and its daily roll-up, and
-- idempotency records.

ALTER TABLE organizations ADD COLUMN monthly_quota INTEGER;  -- NULL: the deployment's default

-- One B-tree per logged request: the key (organisation, request id) serves the log's
-- listing (ULIDs sort by time, so newest-first is the key backwards), lookups by id, and the
-- retention purge (an id range per organisation).
CREATE TABLE request_log (
    organization_id  TEXT NOT NULL,          -- '' when the key could not be identified
    id               TEXT NOT NULL,          -- the request id (x-request-id)
    key_id           TEXT,
    method           TEXT NOT NULL,
    route            TEXT NOT NULL,          -- the route template
    path             TEXT NOT NULL,
    status           INTEGER NOT NULL,
    latency_ms       REAL NOT NULL,
    ip               TEXT NOT NULL,
    idempotency_key  TEXT,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (organization_id, id)
) WITHOUT ROWID;

CREATE TABLE usage_daily (
    organization_id  TEXT NOT NULL,
    key_id           TEXT NOT NULL,
    route            TEXT NOT NULL,
    status_class     TEXT NOT NULL,          -- 2xx, 4xx, …
    day              TEXT NOT NULL,          -- YYYY-MM-DD, UTC
    count            INTEGER NOT NULL,
    PRIMARY KEY (organization_id, day, key_id, route, status_class)
);

CREATE TABLE quota_usage (
    organization_id  TEXT NOT NULL,
    month            TEXT NOT NULL,          -- YYYY-MM, UTC
    used             INTEGER NOT NULL,
    PRIMARY KEY (organization_id, month)
);

CREATE TABLE idempotency_records (
    organization_id   TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    method            TEXT NOT NULL,
    route             TEXT NOT NULL,
    idempotency_key   TEXT NOT NULL,
    fingerprint       BLOB NOT NULL,         -- SHA-256 of the canonical request
    state             TEXT NOT NULL,         -- running | completed
    locked_until      TEXT NOT NULL,         -- a running claim older than this may be taken over
    response_status   INTEGER,
    response_headers  TEXT,                  -- JSON object
    response_body     BLOB,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    PRIMARY KEY (organization_id, key_id, method, route, idempotency_key)
);
CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at);
