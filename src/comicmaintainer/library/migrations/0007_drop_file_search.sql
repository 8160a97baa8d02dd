-- The trigram index of 0004 is no longer read (library/store.py, section "file list").
--
-- A new search of the file list is counted in memory by the FileList's path index
-- (library/path_index.py), built from files_path_status (0006) and kept current from the change
-- log (0005); a page is read by rowid or through the sort order's index. Keeping the trigram
-- index up to date cost every insert, rename and delete of a file a write to it.
--
-- file_search_state stays: its flag also pauses the change log during a large bulk_upsert.

DROP TRIGGER file_search_insert;
DROP TRIGGER file_search_delete;
DROP TRIGGER file_search_move;
DROP TABLE file_search_terms;
DROP TABLE file_search;
