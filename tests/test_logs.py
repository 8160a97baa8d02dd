"""The rotating log file and its tail, on real files in a temp folder."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import pytest

from comicmaintainer.config import Settings, load_settings
from comicmaintainer.logs import PACKAGE_LOGGER, setup_logging, tail

pytestmark = pytest.mark.usefixtures("package_logger")  # tests/conftest.py


def make_settings(tmp_path: Path, **env: str) -> Settings:
    library = tmp_path / "library"
    library.mkdir(exist_ok=True)
    return load_settings({"WATCHED_DIR": str(library), "CONFIG_DIR": str(tmp_path / "config"), **env})


def our_handlers() -> list[logging.Handler]:
    return [
        h
        for h in logging.getLogger(PACKAGE_LOGGER).handlers
        if (h.get_name() or "").startswith(PACKAGE_LOGGER)
    ]


def test_writes_records_with_time_level_and_name(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    setup_logging(settings)
    logging.getLogger("comicmaintainer.library.process").info("renamed %s", "a.cbz")
    logging.getLogger("comicmaintainer.watcher").debug("not at INFO")
    text = settings.log_path.read_text(encoding="utf-8")
    assert " INFO comicmaintainer.library.process: renamed a.cbz" in text
    assert "not at INFO" not in text
    assert text[:4].isdigit()  # starts with the date


def test_debug_mode_logs_debug(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, DEBUG_MODE="true")
    setup_logging(settings)
    logging.getLogger("comicmaintainer.x").debug("fine detail")
    assert "DEBUG comicmaintainer.x: fine detail" in settings.log_path.read_text(encoding="utf-8")


def test_warnings_go_to_stderr_info_does_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(make_settings(tmp_path))
    logging.getLogger("comicmaintainer.x").info("quiet")
    logging.getLogger("comicmaintainer.x").warning("loud")
    err = capsys.readouterr().err
    assert "loud" in err and "quiet" not in err


def test_idempotent_and_updates_size(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    setup_logging(settings)
    setup_logging(settings)
    assert len(our_handlers()) == 2
    bigger = make_settings(tmp_path, LOG_MAX_BYTES=str(1024 * 1024))
    setup_logging(bigger)
    handlers = our_handlers()
    assert len(handlers) == 2
    files = [h for h in handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
    assert [h.maxBytes for h in files] == [1024 * 1024]
    logging.getLogger("comicmaintainer.x").warning("once")
    assert settings.log_path.read_text(encoding="utf-8").count("once") == 1


def test_new_config_dir_moves_the_file_handler(tmp_path: Path) -> None:
    first = make_settings(tmp_path)
    setup_logging(first)
    second = make_settings(tmp_path, CONFIG_DIR=str(tmp_path / "other"))
    setup_logging(second)
    logging.getLogger("comicmaintainer.x").info("where")
    assert "where" in second.log_path.read_text(encoding="utf-8")
    assert "where" not in first.log_path.read_text(encoding="utf-8")
    assert len(our_handlers()) == 2


def test_rotation_keeps_three_backups(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, LOG_MAX_BYTES=str(64 * 1024))
    setup_logging(settings)
    log = logging.getLogger("comicmaintainer.bulk")
    for number in range(400):  # about 6 files' worth
        log.info("line %04d %s", number, "x" * 1000)
    folder = settings.log_path.parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "ComicMaintainer.log",
        "ComicMaintainer.log.1",
        "ComicMaintainer.log.2",
        "ComicMaintainer.log.3",
    ]
    for path in folder.iterdir():
        assert path.stat().st_size <= 64 * 1024
    assert "line 0399" in settings.log_path.read_text(encoding="utf-8")


def write_log(settings: Settings, lines: list[str]) -> None:
    settings.log_path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


RECORDS = [
    "2024-05-01 10:00:00,000 INFO comicmaintainer.a: one",
    "2024-05-01 10:00:01,000 DEBUG comicmaintainer.a: two",
    "2024-05-01 10:00:02,000 ERROR comicmaintainer.b: three",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "ValueError: boom",
    "2024-05-01 10:00:03,000 WARNING comicmaintainer.c: four",
    "2024-05-01 10:00:04,000 INFO comicmaintainer.a: five",
]


def test_tail_last_lines(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_log(settings, RECORDS)
    assert tail(settings, lines=2) == RECORDS[-2:]
    assert tail(settings) == RECORDS
    assert tail(settings, lines=0) == []


def test_tail_level_filter_keeps_tracebacks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_log(settings, RECORDS)
    assert tail(settings, level="warning") == RECORDS[2:7]
    assert tail(settings, lines=1, level="WARNING") == [RECORDS[6]]
    assert tail(settings, level="ERROR") == RECORDS[2:6]
    assert tail(settings, level="INFO") == [r for r in RECORDS if "DEBUG" not in r]
    with pytest.raises(ValueError, match="unknown log level"):
        tail(settings, level="LOUD")


def test_tail_missing_or_empty_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert tail(settings) == []
    settings.log_path.write_bytes(b"")
    assert tail(settings) == []


def test_tail_across_block_boundaries(tmp_path: Path) -> None:
    """Lines of many lengths, some longer than the read block, some not UTF-8, no final newline."""
    settings = make_settings(tmp_path)
    lines = [("é" * (n * 997 % 70_000)) + f" {n}" for n in range(300)]
    data = "\n".join(lines).encode("utf-8") + b"\n\xff tail without newline"
    settings.log_path.write_bytes(data)
    expected = data.decode("utf-8", errors="replace").split("\n")
    assert tail(settings, lines=120) == expected[-120:]
    assert tail(settings, lines=10_000) == expected


def test_stderr_handler_writes_to_current_stderr(tmp_path: Path) -> None:
    setup_logging(make_settings(tmp_path))
    streams = [h.stream for h in our_handlers() if type(h) is logging.StreamHandler]
    assert streams == [sys.stderr]
