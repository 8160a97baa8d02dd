"""The ``match`` job kind: the engine hands each item (a chapter) here.

The engine keeps no metadata state: one `MetadataService` per store is kept here (its clients hold
the rate limits and connection pools, which must be shared by all workers), rebuilt when the
settings change.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from comicmaintainer.library.process import Context, Stage
from comicmaintainer.library.store import Store
from comicmaintainer.metadata.apply import match_item
from comicmaintainer.metadata.service import MetadataService

_services: weakref.WeakKeyDictionary[Store, MetadataService] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def service_for(ctx: Context) -> MetadataService:
    """The shared service of ``ctx.store``; a new one when the settings changed since it was made."""
    with _lock:
        service = _services.get(ctx.store)
        if service is None or service.settings != ctx.settings:
            # The old one is not closed: a worker may still be in one of its requests; its
            # connections go with it once nothing holds it.
            service = _services[ctx.store] = MetadataService(ctx.settings, ctx.store)
        return service


def run_match_item(rel: str, ctx: Context, on_stage: Callable[[Stage], None]) -> dict[str, Any]:
    return match_item(rel, ctx, service_for(ctx), on_stage=on_stage)
