-- Until when the secret a rotation replaced keeps working (the end of its grace period), so
-- that a key's page can say so. NULL: never rotated.

ALTER TABLE api_keys ADD COLUMN previous_secret_expires_at TEXT;

-- The `webhook-timestamp` each attempt was signed with (NULL: nothing was sent), so that the
-- delivery log can show the headers the receiver got.
ALTER TABLE webhook_attempts ADD COLUMN webhook_timestamp INTEGER;
