-- Search and rare filters of the file list (library/store.py, section "file list").
--
-- file_search: a trigram index over files.path, so a substring search reads the few rows holding the
-- query's rarest trigram instead of every row. External content: the index stores no text, it
-- points at files.rowid. (files has no INTEGER PRIMARY KEY, so a VACUUM may renumber its rowids:
-- after one, run INSERT INTO file_search(file_search) VALUES ('rebuild').)
-- The trigram tokenizer folds case, so its matches are a superset of the case-insensitive LIKE
-- that decides the result; queries of fewer than 3 characters cannot use it and scan.

CREATE VIRTUAL TABLE file_search USING fts5(
    path, content = 'files', content_rowid = 'rowid', tokenize = 'trigram'
);

INSERT INTO file_search (file_search) VALUES ('rebuild');

-- How many files hold each trigram: a search reads the candidates of its rarest trigram only.
CREATE VIRTUAL TABLE file_search_terms USING fts5vocab(file_search, 'row');

-- Indexing rows one by one from a trigger is slow for the 100,000 rows of a first scan, so
-- Store.bulk_upsert sets paused = 1 for its batch and indexes the new rows with one
-- INSERT … SELECT before it commits (the flag never stays set: it is written in that transaction).
CREATE TABLE file_search_state (
    paused INTEGER NOT NULL CHECK (paused IN (0, 1))
);

INSERT INTO file_search_state (paused) VALUES (0);

CREATE TRIGGER file_search_insert AFTER INSERT ON files
WHEN (SELECT paused FROM file_search_state) = 0 BEGIN
    INSERT INTO file_search (rowid, path) VALUES (new.rowid, new.path);
END;

-- Deleting from an external-content index needs the old text, given here.
CREATE TRIGGER file_search_delete AFTER DELETE ON files BEGIN
    INSERT INTO file_search (file_search, rowid, path) VALUES ('delete', old.rowid, old.path);
END;

CREATE TRIGGER file_search_move AFTER UPDATE OF path ON files BEGIN
    INSERT INTO file_search (file_search, rowid, path) VALUES ('delete', old.rowid, old.path);
    INSERT INTO file_search (rowid, path) VALUES (new.rowid, new.path);
END;

-- Duplicates and files needing attention are a small part of the library, and a filter on one of
-- them sorted by the list's orders must not sort thousands of rows per page. Partial indexes
-- hold only those rows, so the first scan, which inserts unprocessed rows, never writes to them.
CREATE INDEX files_rare_name ON files (status, name COLLATE NOCASE)
    WHERE status IN ('duplicate', 'needs_attention');
CREATE INDEX files_rare_folder ON files (status, folder COLLATE NOCASE, name COLLATE NOCASE)
    WHERE status IN ('duplicate', 'needs_attention');
CREATE INDEX files_rare_mtime ON files (status, mtime_ns)
    WHERE status IN ('duplicate', 'needs_attention');
CREATE INDEX files_rare_size ON files (status, size)
    WHERE status IN ('duplicate', 'needs_attention');
