-- Files, history of changes (for undo) and key-value preferences.
-- Applied once by library/store.py inside a transaction; never edit after release, add 0002_*.sql.

CREATE TABLE files (
    path         TEXT PRIMARY KEY,          -- relative POSIX path inside WATCHED_DIR
    folder       TEXT NOT NULL,             -- parent folder, '' for the library root
    name         TEXT NOT NULL,             -- file name with extension
    size         INTEGER NOT NULL DEFAULT 0,
    mtime_ns     INTEGER NOT NULL DEFAULT 0,
    inode        INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT 'unprocessed'
                 CHECK (status IN ('unprocessed', 'processed', 'duplicate', 'needs_attention')),
    error        TEXT,                      -- why the file needs attention, one line
    content_id   TEXT,                      -- page identity hash, finds identical copies
    duplicate_of TEXT,                      -- path of the file this one duplicates
    manual_edit  INTEGER NOT NULL DEFAULT 0,
    updated_at   REAL NOT NULL
);

CREATE INDEX files_folder ON files (folder);
CREATE INDEX files_status ON files (status);
CREATE INDEX files_name ON files (name COLLATE NOCASE);
CREATE INDEX files_content_id ON files (content_id) WHERE content_id IS NOT NULL;

CREATE TABLE actions (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    kind     TEXT NOT NULL,                 -- e.g. 'tags', 'rename', 'convert', 'duplicate'
    old_path TEXT,
    new_path TEXT,
    old_xml  BLOB,                          -- ComicInfo.xml before, to undo a tag change
    new_xml  BLOB,
    state    TEXT NOT NULL DEFAULT 'done'
             CHECK (state IN ('pending', 'done', 'undone', 'rolled_back'))
);

CREATE INDEX actions_pending ON actions (state) WHERE state = 'pending';

CREATE TABLE kv (
    scope TEXT NOT NULL,                    -- e.g. 'preferences'
    key   TEXT NOT NULL,
    value TEXT NOT NULL,                    -- JSON
    PRIMARY KEY (scope, key)
);
