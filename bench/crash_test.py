"""Kill tag writes at random instants and check that no archive is ever broken.

    python bench/crash_test.py [--trials 300] [--seed 1] [--quick]

Each trial copies a template archive, starts a tag write in a child process
(forked from this one: in place when possible, else the full atomic copy), sends it
SIGKILL after a random delay drawn over the length of a write, runs recovery, and checks: the
zip is valid (zipfile testzip, ``unzip -t``, ``7z t``), every page is byte-identical (SHA-256),
ComicInfo.xml is the old or the new one, and a reader walking local headers sees only that one.
Templates cover ComicInfo.xml first, between pages, last and absent, stored and deflated, with
and without ZIP64 end records; an old ComicInfo.xml too large to cover in place (so the full
atomic copy writes it); plus (unless ``--quick``) an archive of 65,540 entries.

Then the failures that are not kills: a full disk (RLIMIT_FSIZE in the child, and a 2 MB tmpfs
when mounting one is allowed) and an I/O error injected at a step of the in-place write, the
archive's flush included (it runs after the call returned: its error is logged, not raised). The
archive must be unchanged and the child must report the error.

Prints the count of broken archives and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.archive_inplace import (  # noqa: E402
    INFO,
    OLD_XML,
    build_cbz,
    new_xml,
    page_hashes,
    read_info,
    tool_errors,
    walk_local_headers,
)

from comicmaintainer.archive import cbz_write, journal, unflushed  # noqa: E402
from comicmaintainer.archive.cbz_inplace import write_comicinfo_inplace  # noqa: E402
from comicmaintainer.archive.errors import ArchiveError  # noqa: E402


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    pages: dict[str, str]
    old: bytes | None
    seconds: float = 0.0  # how long one uninterrupted write takes
    # When the archive itself is being changed (journal saved → archive fsynced), in seconds.
    changing: tuple[float, float] = (0.0, 0.0)


def build_templates(root: Path, quick: bool) -> list[Template]:
    variants = [
        (info, comp, z64)
        for info in ("first", "middle", "last", "absent")
        for comp in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        for z64 in ("", "end")
    ]
    made = []
    for info, comp, z64 in variants:
        name = f"info-{info}-{'deflated' if comp else 'stored'}{'-zip64' if z64 else ''}"
        path = build_cbz(
            root / f"{name}.cbz", info=info, compression=comp, zip64=z64, pages=20, page_size=20_000
        )
        made.append(path)
    # An old ComicInfo.xml too large to be covered by one extra field: the full atomic copy writes it.
    big = new_xml("Old " + "".join(random.Random(0).choices("0123456789abcdef", k=70_000)))
    made.append(
        build_cbz(root / "info-first-large-full-copy.cbz", info="first", xml=big, pages=20, page_size=20_000)
    )
    if not quick:
        path = root / "info-last-65540-entries.cbz"
        with zipfile.ZipFile(path, "w") as zf:
            for i in range(65_539):
                zf.writestr(f"p{i:05d}.jpg", i.to_bytes(4, "little"))
            zf.writestr(INFO, OLD_XML)
        made.append(path)
    return [Template(p.stem, p, page_hashes(p), read_info(p)) for p in made]


def write_tags(
    path: Path, xml: bytes, journal_dir: Path, fail_at: str | None = None, notify_fd: int | None = None
) -> dict[str, float]:
    """What the pipeline does: in place when possible, else the full atomic copy; then wait for
    the in-place write's flush, which runs after the call returns.

    Returns when each step of an in-place write was reached (seconds from the start). A flush
    that fails is not raised to the caller (it has returned) but logged: that line is raised here.
    """
    start, marks = time.perf_counter(), {}
    flush_errors = _LoggedErrors()

    def hook(step: str) -> None:
        marks[step] = time.perf_counter() - start
        if step == "journal_written" and notify_fd is not None:
            os.write(notify_fd, b"j")
        if step == fail_at:
            raise OSError(errno.EIO, "Input/output error")

    logging.getLogger("comicmaintainer.archive.cbz_inplace").addHandler(flush_errors)
    if not write_comicinfo_inplace(path, xml, journal_dir, step_hook=hook):
        cbz_write.write_comicinfo(path, xml)
    marks["returned"] = time.perf_counter() - start
    unflushed.wait_all()
    marks["end"] = time.perf_counter() - start
    if flush_errors.lines:
        raise ArchiveError(flush_errors.lines[0])
    return marks


class _LoggedErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class Child:
    """A forked writer: it waits for ``go`` and reports ``done <s>`` or ``error: <line>``."""

    pid: int
    go_fd: int
    result_fd: int
    progress_fd: int

    def journal_saved(self) -> bool:
        """Block until the child has saved its undo journal (False: it ended without one)."""
        return os.read(self.progress_fd, 1) == b"j"

    def go(self) -> None:
        os.write(self.go_fd, b"g")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> str:
        os.waitpid(self.pid, 0)
        chunks = []
        while chunk := os.read(self.result_fd, 4096):
            chunks.append(chunk)
        for fd in (self.go_fd, self.result_fd, self.progress_fd):
            os.close(fd)
        return b"".join(chunks).decode()


def start_child(path: Path, jdir: Path, xml: bytes, fail_at: str | None = None, fsize: int = 0) -> Child:
    """Fork a writer (forking from this process skips a 0.4 s interpreter start per trial)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    result_r, result_w = os.pipe()
    gc.freeze()  # keep the child's collector off the parent's objects (copy-on-write page faults)
    pid = os.fork()
    if pid == 0:  # the child: never returns
        gc.disable()
        for fd in (ready_r, go_w, result_r):
            os.close(fd)
        _child(path, jdir, xml, fail_at, fsize, (ready_w, go_r, result_w))
    for fd in (ready_w, go_r, result_w):
        os.close(fd)
    os.read(ready_r, 1)
    return Child(pid, go_w, result_r, ready_r)


def _child(path: Path, jdir: Path, xml: bytes, fail_at: str | None, fsize: int, fds: tuple[int, ...]) -> None:
    ready_w, go_r, result_w = fds
    code = 4
    try:
        if fsize:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of dying
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        os.write(ready_w, b"r")
        os.read(go_r, 1)
        try:
            marks = write_tags(path, xml, jdir, fail_at, ready_w)
            window = [marks["end"], marks.get("journal_written", 0.0), marks.get("file_synced", marks["end"])]
            message, code = "done " + " ".join(f"{m:.6f}" for m in window), 0
        except ArchiveError as exc:
            message, code = f"error: {exc}", 3
    except BaseException as exc:
        message = f"crash: {type(exc).__name__}: {exc}"
    os.write(result_w, message.encode())
    os._exit(code)


def calibrate(t: Template, work: Path) -> Template:
    """Time one uninterrupted write of this template and its steps (median of three)."""
    times = []
    for n in range(3):
        trial = fresh_copy(t, work / f"calibrate-{n}")
        child = start_child(trial, work / "journal", new_xml("Calibration", 2000))
        child.go()
        out = child.wait()
        assert out.startswith("done"), f"{t.name}: calibration write failed: {out}"
        times.append(tuple(float(x) for x in out.split()[1:]))
    total, first, last = sorted(times)[1]
    return Template(t.name, t.path, t.pages, t.old, total, (first, last))


def fresh_copy(t: Template, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    copy = Path(shutil.copy(t.path, folder / "comic.cbz"))
    with open(copy, "rb") as f:
        os.fsync(f.fileno())  # so the write's own fsync does not also pay for this copy
    return copy


def problems(path: Path, t: Template, allowed: list[bytes | None]) -> list[str]:
    """Everything wrong with the archive after recovery (empty = whole)."""
    try:
        found = tool_errors(path)
        if page_hashes(path) != t.pages:
            found.append("pages changed")
        info = read_info(path)
        if info not in allowed:
            found.append("ComicInfo.xml is neither the old nor the new one")
        streamed = [c for n, c in walk_local_headers(path) if n == INFO]
        if streamed != ([] if info is None else [info]):
            found.append("a streaming reader sees another ComicInfo.xml")
    except Exception as exc:  # any reader blowing up is a broken archive
        found = [f"unreadable: {type(exc).__name__}: {exc}"]
    return found


def kill_trial(t: Template, work: Path, rng: random.Random, stats: Counter[str]) -> list[str]:
    trial = fresh_copy(t, work / "trial")
    jdir = work / "journal"  # shared by all trials, as in the program: slots are reused
    xml = new_xml(f"Trial {rng.random()}", rng.choice([0, 50, 500, 3000, 8000]))
    child = start_child(trial, jdir, xml)
    # A third of the kills anywhere in the write; the others once the undo journal is saved,
    # while the archive itself is being changed (a window of well under a millisecond).
    targeted = t.changing[0] > 0 and rng.random() < 2 / 3
    child.go()
    if targeted and child.journal_saved():
        delay = rng.uniform(0, (t.changing[1] - t.changing[0]) * 1.5)
    else:
        delay = rng.uniform(0, t.seconds * 1.3)
    deadline = time.perf_counter() + delay
    while time.perf_counter() < deadline:  # busy wait: sleep() is too coarse for sub-ms delays
        pass
    child.kill()
    out = child.wait()
    stats["finished before the kill" if out.startswith("done") else "killed mid-write"] += 1
    for outcome in journal.recover(jdir):
        stats[f"recovery: {outcome.action}"] += 1
    stats["temp files left by an interrupted full copy"] += sum(1 for p in trial.parent.glob(".comic.cbz*"))
    return problems(trial, t, [t.old, xml])


def failure_trial(t: Template, work: Path, mode: str, rng: random.Random) -> list[str]:
    """A full disk or an I/O error: the child must report it and leave the archive as it was."""
    trial = fresh_copy(t, work / "failure")
    before = trial.read_bytes()
    xml = new_xml("Big " + "".join(rng.choices("0123456789abcdef", k=150_000)))
    if mode == "full disk":
        child = start_child(trial, work / "journal", xml, fsize=len(before) + 100)
    else:
        steps = ["tail_partly_written", "tail_written", "flush_started"]
        covers_old_info = t.name.startswith(("info-first", "info-middle"))
        step = rng.choice(steps + (["head_written"] if covers_old_info else []))
        child = start_child(trial, work / "journal", xml, fail_at=step)
    child.go()
    out = child.wait()
    found = [] if out.startswith("error:") else [f"{mode} not reported: {out!r}"]
    if trial.read_bytes() != before:
        found.append(f"{mode}: archive changed")
    return found + problems(trial, t, [t.old])


def tmpfs_trial(t: Template, work: Path) -> list[str] | None:
    """A real full disk: a 2 MB tmpfs with a few KB left. ``None`` when mounting is not allowed."""
    mnt = work / "tmpfs"
    mnt.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    ).returncode:
        return None
    try:
        trial = Path(shutil.copy(t.path, mnt / "comic.cbz"))
        before = trial.read_bytes()
        _fill(mnt / "filler", leave=8192)
        xml = new_xml("Big " + "".join(random.choices("0123456789", k=60_000)))
        child = start_child(trial, mnt / "journal", xml)
        child.go()
        out = child.wait()
        found = [] if out.startswith("error:") else [f"tmpfs full disk not reported: {out!r}"]
        if trial.read_bytes() != before:
            found.append("tmpfs full disk: archive changed")
        return found + problems(trial, t, [t.old])
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def _fill(path: Path, leave: int) -> None:
    """Fill the filesystem, then give back ``leave`` bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(65536))
    except OSError:
        pass
    os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    os.close(fd)


def run(trials: int, seed: int, quick: bool) -> int:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="crash-test-") as tmp:
        work = Path(tmp)
        (work / "templates").mkdir()
        templates = [calibrate(t, work) for t in build_templates(work / "templates", quick)]
        for t in templates:
            print(f"  {t.name}: one write takes {t.seconds * 1000:.2f} ms")
        stats: Counter[str] = Counter()
        broken: list[str] = []
        for n in range(trials):
            t = templates[n % len(templates)]
            broken += [f"kill trial {n} ({t.name}): {p}" for p in kill_trial(t, work, rng, stats)]
        failures = 0
        for t in templates:
            for mode in ("full disk", "io error"):
                if mode == "io error" and t.name.endswith("full-copy"):
                    continue  # the injected error is in the in-place writer, which declines this one
                failures += 1
                broken += [f"{mode} ({t.name}): {p}" for p in failure_trial(t, work, mode, rng)]
        tmpfs = tmpfs_trial(templates[1], work)
        broken += tmpfs or []
    report(trials, stats, failures, tmpfs is not None, broken)
    return 1 if broken else 0


def report(trials: int, stats: Counter[str], failures: int, tmpfs: bool, broken: list[str]) -> None:
    print(f"kill trials: {trials}")
    for key, count in sorted(stats.items()):
        print(f"  {key}: {count}")
    print(f"full-disk (RLIMIT_FSIZE) and I/O-error trials: {failures}")
    print(f"full-disk trial on a 2 MB tmpfs: {'done' if tmpfs else 'skipped (mount not allowed)'}")
    for line in broken:
        print(f"  BROKEN: {line}")
    print(f"broken archives: {len(broken)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="skip the 65,540-entry archive")
    args = parser.parse_args()
    return run(args.trials, args.seed, args.quick)


if __name__ == "__main__":
    sys.exit(main())
