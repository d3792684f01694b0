-- Imports are parsed as they are uploaded and stored in chunks of rows, so that neither the
-- upload nor the job holds the whole file in memory. `input` stays for jobs stored before.

ALTER TABLE jobs ADD COLUMN input_rows INTEGER;  -- rows in job_chunks (NULL: parse `input`)
ALTER TABLE jobs ADD COLUMN input_error TEXT;    -- why the file is unusable: the job fails with it

CREATE TABLE job_chunks (
    job_id      TEXT NOT NULL,     -- no foreign key: chunks are written before their job
    seq         INTEGER NOT NULL,  -- 0, 1, 2…: rows seq*1000 .. seq*1000+999
    rows        TEXT NOT NULL,     -- JSON array of rows
    created_at  TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
