"""Every status and kind the store keeps, each defined once as an enum.

The SQL CHECKs (migrations 0001 and 0002) list the same values; ``tests/library/test_statuses.py``
reads them back from the schema and fails when the two differ. The API models (``web/api``), the
job engine and the events use these enums, so a new value is added here, in a migration, and
nowhere else. Each is a ``StrEnum``: it equals its value, and is stored and sent as that text.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A library file's state (``files.status``)."""

    UNPROCESSED = "unprocessed"
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    NEEDS_ATTENTION = "needs_attention"


class JobKind(StrEnum):
    """What a batch job does to each of its files (``jobs.kind``)."""

    PROCESS = "process"
    RENAME = "rename"
    NORMALIZE = "normalize"
    TAG_UPDATE = "tag_update"
    MATCH = "match"


class JobStatus(StrEnum):
    """A batch job's state (``jobs.status``). "failed": it ran to its end but some item failed."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES


class ItemStatus(StrEnum):
    """One job item's state (``job_items.status``). Reading, tagging and renaming are the stages of
    an item being worked on; only "reading" is stored (at the claim), the others live in memory."""

    QUEUED = "queued"
    READING = "reading"
    TAGGING = "tagging"
    RENAMING = "renaming"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


FINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED})
ACTIVE_ITEM_STATUSES = (ItemStatus.READING, ItemStatus.TAGGING, ItemStatus.RENAMING)
