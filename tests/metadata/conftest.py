"""Fixtures: every source's fake on loopback, and settings that point the clients at them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from comicmaintainer.config import PUBLISHED_PER_MINUTE, Settings
from tests.metadata.fakes import GOOD_KEY, LOGIN, Fake, Series, serving

SOURCES = ("anilist", "mangadex", "mangaupdates", "metron", "comicvine")


def catalogue() -> list[Series]:
    return [
        Series(
            1,
            "Berserk",
            1989,
            374,
            summary="A lone swordsman.",
            genres=("Action", "Fantasy"),
            writer="Kentaro Miura",
            artist="Kentaro Miura",
            alt="Beruseruku",
        ),
        Series(
            2,
            "Berserk of Gluttony",
            2017,
            60,
            genres=("Fantasy",),
            writer="Isshiki Ichika",
            artist="Takino Daisuke",
        ),
        Series(3, "Monster", 1994, 162, writer="Naoki Urasawa", artist="Naoki Urasawa"),
        Series(4, "Monster", 2012, 30, writer="Someone Else", artist="Other Artist", country="KR"),
        Series(
            5,
            "Saga",
            2012,
            66,
            writer="Brian K. Vaughan",
            artist="Fiona Staples",
            publisher="Image",
            country="US",
        ),
    ]


@pytest.fixture
def fakes() -> Iterator[dict[str, Fake]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(serving(Fake(name, catalogue()))) for name in SOURCES}


def pointed(settings: Settings, fakes: dict[str, Fake], **changes: object) -> Settings:
    """Settings whose sources are the fakes, at each source's published rate (the fastest allowed)."""
    values: dict[str, object] = {}
    for name, fake in fakes.items():
        values[f"{name}_url"] = fake.url
        values[f"{name}_per_minute"] = float(PUBLISHED_PER_MINUTE[name])
        values[f"{name}_enabled"] = True
    values.update(comicvine_api_key=GOOD_KEY, metron_username=LOGIN[0], metron_password=LOGIN[1])
    values.update(changes)
    return dataclasses.replace(settings, **values)  # type: ignore[arg-type]
