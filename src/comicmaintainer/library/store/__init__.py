"""The store: the only package that speaks SQL. One SQLite file, one module per concept.

- ``database``: the connections (one writer, per-thread readers), migrations, backups;
- ``statuses``: ``Status``, ``JobKind``, ``JobStatus``, ``ItemStatus``, each defined once;
- ``files``: ``Store`` (files and key-value preferences), ``FileRow``;
- ``history``: ``Action``, ``ActionState`` (``Store`` records and reads them);
- ``jobs``: ``JobStore``, ``JobRow``, ``JobItemRow``, ``NewJob``;
- ``file_list``: ``FileList``, ``FileQuery``, ``FilePage``; with ``kept_searches`` (the change
  log replayed into kept searches) and ``path_index`` (new searches counted in memory).

The names below are the store's API; the rest of the program imports them from here.
"""

from comicmaintainer.library.store.database import BACKUPS_KEPT, StoreError
from comicmaintainer.library.store.file_list import (
    LIST_FILTERS,
    LIST_SORTS,
    PER_PAGE_RANGE,
    FileList,
    FilePage,
    FileQuery,
)
from comicmaintainer.library.store.files import FileRow, Store, split_path
from comicmaintainer.library.store.history import Action, ActionState
from comicmaintainer.library.store.jobs import (
    JOB_PROGRESS_COLUMNS,
    JobItemRow,
    JobRow,
    JobStore,
    NewJob,
)
from comicmaintainer.library.store.metadata import MetadataStore, SeriesMatch
from comicmaintainer.library.store.statuses import (
    ACTIVE_ITEM_STATUSES,
    FINAL_JOB_STATUSES,
    ItemStatus,
    JobKind,
    JobStatus,
    Status,
)

__all__ = [
    "ACTIVE_ITEM_STATUSES",
    "BACKUPS_KEPT",
    "FINAL_JOB_STATUSES",
    "JOB_PROGRESS_COLUMNS",
    "LIST_FILTERS",
    "LIST_SORTS",
    "PER_PAGE_RANGE",
    "Action",
    "ActionState",
    "FileList",
    "FilePage",
    "FileQuery",
    "FileRow",
    "ItemStatus",
    "JobKind",
    "JobStatus",
    "JobItemRow",
    "JobRow",
    "JobStore",
    "MetadataStore",
    "NewJob",
    "SeriesMatch",
    "Status",
    "Store",
    "StoreError",
    "split_path",
]
