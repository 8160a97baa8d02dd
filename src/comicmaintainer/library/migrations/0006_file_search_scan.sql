-- A narrow index for searches that must test every path (library/store.py, section "file list").
--
-- A search whose trigrams are all common ("chapter 00", "vol" in a library of "Vol …" folders)
-- gains nothing from the trigram index: its candidates are most of the library, each read from the
-- wide files table by rowid. Scanning every path is then cheaper, and cheaper still in an index
-- holding only the path and the status (all a search's count needs): a fraction of the table's
-- pages, read in order. The primary key's own index has the path but not the status.

CREATE INDEX files_path_status ON files (path, status);
