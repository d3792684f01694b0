-- The product API: custom domains, short links, their clicks and the daily click roll-up.

CREATE TABLE domains (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    hostname         TEXT NOT NULL UNIQUE,   -- lower-case; unique across the deployment
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX domains_organization ON domains (organization_id, created_at);

CREATE TABLE links (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    domain           TEXT NOT NULL,          -- a registered hostname, or the default domain
    slug             TEXT NOT NULL,
    url              TEXT NOT NULL,
    title            TEXT,
    tags             TEXT NOT NULL,          -- JSON array of tags
    search_text      TEXT NOT NULL,          -- lower-cased title, url and slug, for search
    expires_at       TIMESTAMPTZ,
    clicks           BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    deleted_at       TIMESTAMPTZ,
    version          BIGINT NOT NULL
);
-- A slug is unique on its domain among live links; a deleted link frees it.
CREATE UNIQUE INDEX links_live_slug ON links (domain, slug) WHERE deleted_at IS NULL;
CREATE INDEX links_organization ON links (organization_id, created_at);

CREATE TABLE clicks (
    id                 BIGSERIAL PRIMARY KEY,
    link_id            TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    clicked_at         TIMESTAMPTZ NOT NULL,
    referrer_host      TEXT,
    user_agent_family  TEXT NOT NULL         -- no raw IP and no raw user agent are stored
);
CREATE INDEX clicks_link ON clicks (link_id, clicked_at);

CREATE TABLE link_clicks_daily (
    link_id  TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    day      TEXT NOT NULL,                  -- YYYY-MM-DD, UTC
    clicks   BIGINT NOT NULL,
    PRIMARY KEY (link_id, day)
);
