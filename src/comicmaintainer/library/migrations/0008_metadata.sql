-- Series metadata from online sources: a series' match (or pin), and the sources' cached answers.
-- Also lets jobs be of kind 'match'. SQLite cannot change a CHECK in place, and with foreign keys on,
-- dropping `jobs` would delete every item through ON DELETE CASCADE; so both tables are copied to
-- new ones, the old dropped (items first), and the copies renamed, which also renames the
-- references to them. Applied once by library/store.py inside one transaction.

CREATE TABLE jobs_new (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('process', 'rename', 'normalize', 'tag_update', 'match')),
    scope        TEXT NOT NULL CHECK (scope IN ('all', 'selected', 'unprocessed')),
    source       TEXT NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'watcher', 'cli')),
    priority     INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
    tags         TEXT NOT NULL DEFAULT '{}',
    total        INTEGER NOT NULL DEFAULT 0,
    processed    INTEGER NOT NULL DEFAULT 0,
    succeeded    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    current_file TEXT,
    stage        TEXT,
    eta_seconds  REAL,
    created_at   REAL NOT NULL,
    started_at   REAL,
    finished_at  REAL,
    retry_of     INTEGER REFERENCES jobs_new (id) ON DELETE SET NULL
);
INSERT INTO jobs_new SELECT id, kind, scope, source, priority, status, tags, total, processed, succeeded,
    failed, skipped, current_file, stage, eta_seconds, created_at, started_at, finished_at, retry_of FROM jobs;

CREATE TABLE job_items_new (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs_new (id) ON DELETE CASCADE,
    priority    INTEGER NOT NULL DEFAULT 0,
    path        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'reading', 'tagging', 'renaming', 'done', 'failed', 'skipped',
                                  'cancelled')),
    error       TEXT,
    result      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  REAL,
    finished_at REAL
);
INSERT INTO job_items_new SELECT id, job_id, priority, path, status, error, result, attempts, started_at,
    finished_at FROM job_items;

DROP TABLE job_items;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
ALTER TABLE job_items_new RENAME TO job_items;

CREATE INDEX jobs_unfinished ON jobs (id) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX job_items_job ON job_items (job_id, status);
CREATE INDEX job_items_queue ON job_items (priority, job_id, id) WHERE status = 'queued';

-- One row per series folder (a library path relative to WATCHED_DIR).
CREATE TABLE series_matches (
    folder      TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('matched', 'pinned', 'needs_match')),
    source      TEXT,                    -- NULL while it needs a match
    source_id   TEXT,
    score       REAL,
    record      TEXT,                    -- JSON: the chosen SeriesRecord
    candidates  TEXT NOT NULL DEFAULT '[]',  -- JSON: what the search found, best first, for a person
    updated_at  REAL NOT NULL
);

-- A source's answer to one request (key: a hash of source, method, path and parameters without
-- secrets), kept until expires_at so reprocessing asks nothing.
CREATE TABLE metadata_cache (
    key         TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    body        TEXT NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX metadata_cache_expires ON metadata_cache (expires_at);
