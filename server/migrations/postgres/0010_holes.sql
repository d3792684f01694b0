-- Integrity fixes (issue "Holes").

-- A job's claim: each claim gets a fresh id, and only the worker holding it may advance,
-- renew or finish the job. `claim_checkpoint` is where the claim started: a takeover counts
-- as a failed attempt only when the previous holder made no progress past it.
ALTER TABLE jobs ADD COLUMN claim_id TEXT;
ALTER TABLE jobs ADD COLUMN claim_checkpoint BIGINT NOT NULL DEFAULT 0;

-- The audit log's commit order: each organisation counts its entries, the counter bumped
-- inside the writing transaction (it holds the organisation's row until it commits), so
-- `seq` follows commit order and a poller that reads `after` the last `seq` misses none.
ALTER TABLE organizations ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE audit_log SET seq = (
    SELECT COUNT(*) FROM audit_log older
    WHERE older.organization_id = audit_log.organization_id AND older.id <= audit_log.id
);
UPDATE organizations SET audit_seq = (
    SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE audit_log.organization_id = organizations.id
);
CREATE UNIQUE INDEX audit_log_seq ON audit_log (organization_id, seq);

-- Versions (ETags) for the organisation's settings and for webhook endpoints: If-Match.
ALTER TABLE organizations ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE webhook_endpoints ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
