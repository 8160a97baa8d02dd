-- Batch jobs and their items, stored before any work starts so that a restart can resume them.
-- Applied once by library/store.py inside a transaction; never edit after release, add 0003_*.sql.

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('process', 'rename', 'normalize', 'tag_update')),
    scope        TEXT NOT NULL CHECK (scope IN ('all', 'selected', 'unprocessed')),
    source       TEXT NOT NULL DEFAULT 'web' CHECK (source IN ('web', 'watcher', 'cli')),
    priority     INTEGER NOT NULL DEFAULT 0,        -- lower runs first: 0 a person asked, 1 the watcher
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
    tags         TEXT NOT NULL DEFAULT '{}',        -- JSON, ComicInfo field -> value (tag_update)
    total        INTEGER NOT NULL DEFAULT 0,
    processed    INTEGER NOT NULL DEFAULT 0,        -- items that ran to an outcome (done, failed, skipped)
    succeeded    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    current_file TEXT,
    stage        TEXT,
    eta_seconds  REAL,
    created_at   REAL NOT NULL,
    started_at   REAL,
    finished_at  REAL,                              -- NULL while any item may still run
    retry_of     INTEGER REFERENCES jobs (id) ON DELETE SET NULL
);

CREATE INDEX jobs_unfinished ON jobs (id) WHERE finished_at IS NULL;
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_retry_of ON jobs (retry_of) WHERE retry_of IS NOT NULL;

CREATE TABLE job_items (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    priority    INTEGER NOT NULL DEFAULT 0,         -- copied from the job: the queue is one index scan
    path        TEXT NOT NULL,                      -- relative library path as asked
    status      TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'reading', 'tagging', 'renaming', 'done', 'failed', 'skipped',
                                  'cancelled')),
    error       TEXT,
    result      TEXT,                               -- JSON: the pipeline Result (before/after)
    attempts    INTEGER NOT NULL DEFAULT 0,         -- > 1 when a restart re-ran an interrupted item
    started_at  REAL,
    finished_at REAL
);

CREATE INDEX job_items_job ON job_items (job_id, status);
CREATE INDEX job_items_queue ON job_items (priority, job_id, id) WHERE status = 'queued';
