-- The file list of the web page (library/store.py, section "file list"): one index per sort order,
-- and per-status counts kept by triggers so the counts shown beside the filters cost no scan.
-- Sorting by name uses files_name (0001); ties are broken by rowid, the implied last column of
-- every index, so no index needs the path as well.

CREATE INDEX files_folder_name ON files (folder COLLATE NOCASE, name COLLATE NOCASE);
CREATE INDEX files_mtime ON files (mtime_ns);
CREATE INDEX files_size ON files (size);

CREATE TABLE file_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO file_counts (status, n)
VALUES ('unprocessed', 0), ('processed', 0), ('duplicate', 0), ('needs_attention', 0);

UPDATE file_counts SET n = (SELECT count(*) FROM files WHERE files.status = file_counts.status);

CREATE TRIGGER file_counts_insert AFTER INSERT ON files BEGIN
    UPDATE file_counts SET n = n + 1 WHERE status = new.status;
END;

CREATE TRIGGER file_counts_delete AFTER DELETE ON files BEGIN
    UPDATE file_counts SET n = n - 1 WHERE status = old.status;
END;

CREATE TRIGGER file_counts_update AFTER UPDATE OF status ON files WHEN old.status <> new.status BEGIN
    UPDATE file_counts SET n = n - 1 WHERE status = old.status;
    UPDATE file_counts SET n = n + 1 WHERE status = new.status;
END;
