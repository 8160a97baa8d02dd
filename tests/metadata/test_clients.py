"""Each client against its fake: the documented shapes read right, and the manners hold
(rate limit, 429 + Retry-After, timeouts with retries, a source down, a key refused, the cache)."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from comicmaintainer.metadata.http import Manners, SourceHttp
from comicmaintainer.metadata.model import KeyRefused, SourceError
from comicmaintainer.metadata.sources import _CLASSES
from tests.metadata.conftest import catalogue
from tests.metadata.fakes import GOOD_KEY, LOGIN, Fake, serving

UUID = "801513ba-a712-498c-8f57-cae55b38cc92"
FAST = Manners(per_minute=60_000, timeout=2.0, retries=2, backoff=0.01)


class MemoryCache:
    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def get(self, key: str) -> object | None:
        return self.data.get(key)

    def put(self, key: str, source: str, value: object, ttl: float) -> None:
        self.data[key] = value


def client(
    name: str, url: str, manners: Manners = FAST, cache: MemoryCache | None = None, key: str = GOOD_KEY
):  # type: ignore[no-untyped-def]
    secret = {"api_key": key} if name == "comicvine" else None
    auth = LOGIN if name == "metron" else None
    return _CLASSES[name](SourceHttp(name, url, manners, cache, secret_params=secret, auth=auth))


@pytest.mark.parametrize("name", sorted(_CLASSES))
def test_search_and_record_read_the_documented_shapes(name: str) -> None:
    with serving(Fake(name, catalogue())) as fake:
        found = client(name, fake.url).search("Berserk")
        assert [r.title for r in found] == ["Berserk", "Berserk of Gluttony"]
        assert (found[0].year, found[0].source) == (1989, name)
        record = client(name, fake.url).record(found[0].id)
    assert record.title == "Berserk" and record.count == 374 and record.summary == "A lone swordsman."
    if name in ("anilist", "mangadex", "mangaupdates"):
        assert record.writers == ("Kentaro Miura",) and record.manga == "YesAndRightToLeft"
        assert record.genres == ("Action", "Fantasy") and record.language == "ja"
    else:
        assert record.manga == "No" and record.publisher == "Publisher Co"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("anilist", "https://anilist.co/manga/30002/Berserk/", "30002"),
        ("mangadex", f"https://mangadex.org/title/{UUID}/berserk", UUID),
        ("mangaupdates", "https://www.mangaupdates.com/series/pb8uwds/berserk", "pb8uwds"),
        ("metron", "https://metron.cloud/series/123/", "123"),
        ("comicvine", "https://comicvine.gamespot.com/saga/4050-48059/", "48059"),
        ("anilist", "not an id", None),
    ],
)  # fmt: skip
def test_an_id_or_a_page_address_is_read(name: str, text: str, expected: str | None) -> None:
    assert _CLASSES[name].parse_id(text) == expected


def test_a_cache_hit_sends_no_request() -> None:
    cache = MemoryCache()
    with serving(Fake("anilist", catalogue())) as fake:
        first = client("anilist", fake.url, cache=cache).search("Berserk")
        second_client = client("anilist", fake.url, cache=cache)
        again = second_client.search("Berserk")
        assert len(fake.requests) == 1
    assert again == first and second_client.http.requests == 0


def test_429_waits_as_long_as_retry_after_says() -> None:
    with serving(Fake("mangadex", catalogue(), fault="429", fault_times=1, retry_after="1")) as fake:
        found = client("mangadex", fake.url).search("Berserk")
        (first, *_), (second, *_) = fake.requests
    assert found and second - first >= 1.0


def test_a_long_retry_after_fails_with_one_line() -> None:
    with serving(Fake("anilist", catalogue(), fault="429", retry_after="3600")) as fake:
        with pytest.raises(SourceError, match=r"^anilist: rate limited for 3600 s; try again later$"):
            client("anilist", fake.url).search("Berserk")
        assert len(fake.requests) == 1


def test_a_timeout_is_retried_with_back_off_then_fails() -> None:
    manners = Manners(per_minute=60_000, timeout=0.3, retries=2, backoff=0.05)
    with serving(Fake("anilist", catalogue(), fault="hang", fault_times=3, hang_for=1.0)) as fake:
        with pytest.raises(SourceError, match=r"^anilist: no answer within 0.3 s$"):
            client("anilist", fake.url, manners).search("Berserk")
        assert len(fake.requests) == 3


def test_a_timeout_then_an_answer_succeeds() -> None:
    manners = Manners(per_minute=60_000, timeout=0.3, retries=2, backoff=0.05)
    with serving(Fake("anilist", catalogue(), fault="hang", fault_times=1, hang_for=1.0)) as fake:
        assert client("anilist", fake.url, manners).search("Berserk")
        assert len(fake.requests) == 2


def test_a_server_error_is_retried_then_fails() -> None:
    with serving(Fake("mangaupdates", catalogue(), fault="down")) as fake:
        with pytest.raises(SourceError, match=r"^mangaupdates: server error \(HTTP 503\)$"):
            client("mangaupdates", fake.url).search("Berserk")
        assert len(fake.requests) == FAST.retries + 1


def test_a_source_that_is_not_there() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused
        with pytest.raises(SourceError, match=r"^mangadex: cannot be reached \(down or no network\)$"):
            client("mangadex", f"http://127.0.0.1:{port}").search("Berserk")


def test_a_refused_key_says_so_and_never_shows_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with serving(Fake("comicvine", catalogue())) as fake:
        with pytest.raises(KeyRefused) as refused:
            client("comicvine", fake.url, key="wrong-key-456").search("Saga")
        assert "api_key=wrong-key-456" in fake.requests[0][2]  # it was sent, as ComicVine wants
    assert "wrong-key-456" not in str(refused.value) and "wrong-key-456" not in caplog.text
    assert str(refused.value) == "comicvine: the key or login was refused (HTTP 401)"


def test_a_refused_login_at_metron() -> None:
    with serving(Fake("metron", catalogue())) as fake:
        http = SourceHttp("metron", fake.url, FAST, None, auth=("reader", "wrong"))
        with pytest.raises(KeyRefused, match="^metron: the key or login was refused"):
            _CLASSES["metron"](http).search("Saga")


def test_the_key_stays_out_of_the_cache_key() -> None:
    cache = MemoryCache()
    with serving(Fake("comicvine", catalogue())) as fake:
        client("comicvine", fake.url, cache=cache).search("Saga")
    assert GOOD_KEY not in repr(cache.data)


def test_requests_are_paced_at_the_rate_limit() -> None:
    manners = Manners(per_minute=300, timeout=2.0)  # one every 0.2 s
    with serving(Fake("mangadex", catalogue())) as fake:
        dex = client("mangadex", fake.url, manners)
        for name in ("Berserk", "Monster", "Saga"):
            dex.search(name)
        times = [t for t, *_ in fake.requests]
    # Unpaced, they would arrive a millisecond apart; paced, 0.2 s (less the jitter of arrival).
    assert all(b - a >= 0.15 for a, b in zip(times, times[1:], strict=False))


def test_retry_after_as_an_http_date() -> None:
    from email.utils import formatdate

    from comicmaintainer.metadata.http import _retry_after

    assert 8 <= _retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert _retry_after("soon") == 1.0 and _retry_after(None) == 1.0 and _retry_after("3") == 3.0
