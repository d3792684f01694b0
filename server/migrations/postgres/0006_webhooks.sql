-- Events and webhooks. Events are written in the same transaction as the change that causes
-- them (the outbox); a background task fans each out into one delivery per subscribed
-- endpoint; delivery workers send them, recording every attempt.

CREATE TABLE events (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    type             TEXT NOT NULL,
    data             TEXT NOT NULL,          -- JSON
    created_at       TIMESTAMPTZ NOT NULL,
    fanned_out       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX events_pending ON events (fanned_out, created_at);

CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    organization_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,     -- JSON array of event types
    description           TEXT,
    enabled               BOOLEAN NOT NULL,
    disabled_reason       TEXT,
    secret_sealed         BYTEA NOT NULL,     -- the whsec_ secret, sealed with the master key
    master_key_id         TEXT NOT NULL,
    consecutive_failures  BIGINT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id, created_at);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    body             TEXT NOT NULL,          -- the JSON sent, the same on every attempt
    status           TEXT NOT NULL,          -- pending | succeeded | failed
    attempts         BIGINT NOT NULL,
    next_attempt_at  TIMESTAMPTZ,
    lease_until      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt          BIGINT NOT NULL,
    status_code      BIGINT,
    latency_ms       DOUBLE PRECISION NOT NULL,
    error            TEXT,
    next_attempt_at  TIMESTAMPTZ,
    attempted_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
