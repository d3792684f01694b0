-- Async jobs (today: link imports). A job is claimed by a worker with a lease; a lease that
-- runs out (the worker's process died) lets another worker take the job over, resuming from
-- its checkpoint.

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key_id           TEXT NOT NULL,
    kind             TEXT NOT NULL,          -- link_import
    status           TEXT NOT NULL,          -- queued | running | succeeded | failed
    progress         INTEGER NOT NULL,       -- 0–100
    input            BLOB NOT NULL,          -- for imports: the CSV
    domain_scope     TEXT NOT NULL,          -- JSON: the enqueuing key's domains ([] = all)
    checkpoint       INTEGER NOT NULL,       -- input rows done; work resumes here
    result           TEXT,                   -- JSON, kept up to date as the job runs
    error            TEXT,
    attempts         INTEGER NOT NULL,
    lease_until      TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
);
CREATE INDEX jobs_organization ON jobs (organization_id, created_at);
CREATE INDEX jobs_runnable ON jobs (status, created_at);
