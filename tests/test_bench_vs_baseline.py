"""scripts/bench_vs_baseline.py: an earlier commit's field and today's fused and module paths, timed in worker
processes that take turns; what is checked is the protocol and the table, never a timing."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from script_helpers import SCRIPTS

ROOT = SCRIPTS.parent


def _git_ok() -> bool:
    try:
        subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


pytestmark = pytest.mark.skipif(not _git_ok(), reason="needs the repository's git history")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "bench_vs_baseline.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def test_unknown_commit_is_one_line() -> None:
    done = _run("--baseline", "0" * 40, "--single", "10", "--rounds", "1")
    assert done.returncode != 0
    assert done.stderr.strip().startswith("error: cannot read commit")
    assert "Traceback" not in done.stderr


def test_bad_counts_are_refused_before_work() -> None:
    done = _run("--single", "10", "--rounds", "3")
    assert done.returncode != 0 and "multiple of --rounds" in done.stderr


def test_three_workers_answer_every_call() -> None:
    """HEAD as the baseline: its field and today's (the same checkpoint) in three workers, every row filled."""
    done = _run("--baseline", "HEAD", "--single", "10", "--rounds", "2")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "ms" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["HEAD (module)", "today fused", "today module"]
    lengths = {r.split("|")[2].strip() for r in rows}
    assert len(lengths) == 1  # one checkpoint: the same IR length in every worker
    assert rows[0].split("|")[-2].strip() == "1.00 / 1.00"  # the baseline against itself
    for row in rows:
        assert re.fullmatch(r"[0-9.]+ / [0-9.]+", row.split("|")[3].strip()), row
    assert done.stderr.count("round ") == 2
