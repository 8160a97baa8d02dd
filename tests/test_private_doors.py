"""The library internals we lean on where no public way exists, each checked as we use it, so that a
version bump that changes one fails here, by name, not somewhere far away or only in production.

- web/sse.py overrides sse-starlette's ``EventSourceResponse._send_with_timeout``;
- web/security.py subclasses uvicorn's ``H11Protocol`` and reads its connection state;
- archive/cbz_write.py appends raw entries to a ``zipfile.ZipFile`` by hand.
"""

from __future__ import annotations

import inspect
import io
import zipfile

import h11
import sse_starlette.sse
from uvicorn.protocols.http import h11_impl

from comicmaintainer.archive.cbz_write import new_zip
from comicmaintainer.web.security import guarded_protocol, route_path
from comicmaintainer.web.sse import EventStreamResponse


def test_sse_starlette_still_sends_every_message_through_send_with_timeout() -> None:
    base = sse_starlette.sse.EventSourceResponse
    original = base.__dict__.get("_send_with_timeout")
    assert original is not None, "sse-starlette no longer has EventSourceResponse._send_with_timeout"
    assert inspect.iscoroutinefunction(original)
    assert list(inspect.signature(original).parameters) == ["self", "send", "message"]
    assert "send_timeout" in inspect.signature(base.__init__).parameters
    # The data, the pings and the closing frame all go through it, so overriding it is enough.
    for name in ("_stream_response", "_ping", "__call__"):
        assert "self._send_with_timeout(" in inspect.getsource(getattr(base, name)), name
    assert EventStreamResponse._send_with_timeout is not original


def test_uvicorn_h11_protocol_still_has_what_the_header_timeout_reads() -> None:
    protocol = h11_impl.H11Protocol
    for method in ("connection_made", "connection_lost", "on_response_complete"):
        assert callable(getattr(protocol, method, None)), method
    init = inspect.getsource(protocol.__init__)
    for attribute in ("self.conn", "self.cycle", "self.loop"):
        assert attribute in init, attribute
    assert "self.transport" in inspect.getsource(protocol.connection_made)
    assert "response_complete" in inspect.getsource(h11_impl.RequestResponseCycle.__init__)
    assert hasattr(h11.Connection, "their_state") and h11.IDLE is not None
    assert issubclass(guarded_protocol(1.0), protocol)


def test_route_path_follows_starlettes_rule() -> None:
    assert route_path({"path": "/comics/api/files", "root_path": "/comics"}) == "/api/files"
    assert route_path({"path": "/comics", "root_path": "/comics"}) == ""
    assert route_path({"path": "/comicsx/api", "root_path": "/comics"}) == "/comicsx/api"
    assert route_path({"path": "/api/files"}) == "/api/files"


def test_zipfile_still_takes_a_hand_written_entry() -> None:
    """What _append_raw uses: ``ZipInfo.FileHeader(zip64)``, ``fp``, ``start_dir``, ``filelist``
    and ``NameToInfo``; an entry added that way is read back whole after ``close``."""
    data = b"page bytes " * 100
    out = io.BytesIO()
    with new_zip(out) as new:
        entry = zipfile.ZipInfo("page.jpg", (2020, 1, 1, 0, 0, 0))
        entry.compress_type, entry.CRC = zipfile.ZIP_STORED, zipfile.crc32(data)
        entry.compress_size = entry.file_size = len(data)
        assert new.fp is not None
        entry.header_offset = new.fp.tell()
        new.fp.write(entry.FileHeader(False))
        new.fp.write(data)
        new.start_dir = new.fp.tell()
        new.filelist.append(entry)
        new.NameToInfo[entry.filename] = entry
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as back:
        assert back.testzip() is None
        assert back.read("page.jpg") == data
        assert back.getinfo("page.jpg").orig_filename == "page.jpg"
