-- A log of the changes to files that a search can see (library/store.py, section "file list").
--
-- Counting a search afresh reads every matching row (tens of milliseconds for a broad search of
-- 100,000 files), and a running job commits several times a second. Each reader keeps the searches
-- it counted and, after a commit, replays only the entries added since: a commit that changed no
-- file (job progress, history) then costs one short read, and one that marked ten files costs ten
-- entries, never a recount.
--
-- One entry per inserted, deleted or moved file, or changed status: the file's rowid, its path and
-- status before (NULL for an insert) and after (NULL for a delete). An entry whose file_rowid is
-- NULL is a reset: Store.bulk_upsert writes one for a large batch, which it leaves out of the log
-- (file_search_state.paused, 0004, pauses these triggers too) so a first scan of 100,000 files
-- writes no 100,000 entries; a reader that meets a reset counts its searches again.
--
-- seq is the rowid: each entry gets one more than the largest, and pruning never removes the
-- newest, so committed entries are numbered without gaps and a reader can tell when entries it
-- has not seen were pruned (the first entry after its position is missing).

CREATE TABLE file_changes (
    seq        INTEGER PRIMARY KEY,
    file_rowid INTEGER,
    old_path   TEXT,
    old_status TEXT,
    new_path   TEXT,
    new_status TEXT
);

CREATE TRIGGER file_changes_insert AFTER INSERT ON files
WHEN (SELECT paused FROM file_search_state) = 0 BEGIN
    INSERT INTO file_changes (file_rowid, new_path, new_status) VALUES (new.rowid, new.path, new.status);
END;

CREATE TRIGGER file_changes_delete AFTER DELETE ON files
WHEN (SELECT paused FROM file_search_state) = 0 BEGIN
    INSERT INTO file_changes (file_rowid, old_path, old_status) VALUES (old.rowid, old.path, old.status);
END;

-- Other columns (size, dates, tags) change no search's result, so they are not logged.
CREATE TRIGGER file_changes_update AFTER UPDATE OF path, status ON files
WHEN (SELECT paused FROM file_search_state) = 0
     AND (old.path IS NOT new.path OR old.status IS NOT new.status) BEGIN
    INSERT INTO file_changes (file_rowid, old_path, old_status, new_path, new_status)
    VALUES (new.rowid, old.path, old.status, new.path, new.status);
END;

-- Keep the last 10,000 entries: a reader further behind counts again, which is then cheaper than
-- replaying them. Each entry removes at most the one that fell out of the window.
CREATE TRIGGER file_changes_prune AFTER INSERT ON file_changes BEGIN
    DELETE FROM file_changes WHERE seq <= new.seq - 10000;
END;
