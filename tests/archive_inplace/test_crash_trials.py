"""A small run of bench/crash_test.py: SIGKILL at random instants, full disk, I/O errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "crash_test.py"


def test_twenty_kill_trials_leave_no_broken_archive() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--trials", "20", "--quick", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert "kill trials: 20" in lines
    assert "broken archives: 0" in lines
    assert not any("BROKEN" in line for line in lines)
