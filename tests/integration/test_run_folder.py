"""Issue 22: a run folder is self-contained (moved, copied, archived), sqlgen repairs or
names its own damaged state, and a failed run leaves nothing behind. In-process runs of
the tiny config at the default realism, read back with DuckDB."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import sqlgen.writer
from sqlgen.config import load_config, with_overrides
from sqlgen.faults import FAULT_ENV
from sqlgen.runner import run
from sqlgen.writer import COMMITTED_STEPS, PUBLISH_STEPS
from tests.conftest import TINY
from tests.integration.test_publish import published, run_dirs


@pytest.fixture
def good(tmp_path):
    """A published v3 run of the tiny config in `tmp_path/out`."""
    cfg = with_overrides(load_config(TINY), out_dir=tmp_path / "out", realism="v3")
    run(cfg, show_progress=False)
    return cfg


def state_entries(out: Path) -> list[str]:
    """Everything under `.sqlgen` but the run directories' own files."""
    state = out / ".sqlgen"
    found = []
    for dirpath, dirnames, files in os.walk(state):
        rel = Path(dirpath).relative_to(state)
        if len(rel.parts) >= 2 and rel.parts[0] == "runs":
            continue
        found += [str(rel / name) for name in dirnames + files]
    return sorted(found)


# -- item 6: a failed run removes what it made -----------------------------------------


@pytest.mark.parametrize("step", PUBLISH_STEPS[: PUBLISH_STEPS.index(COMMITTED_STEPS[0])])
def test_failure_before_the_commit_point_leaves_nothing_of_the_run(good, monkeypatch, step):
    out = good.out_dir
    before, entries = published(out), state_entries(out)
    monkeypatch.setenv(FAULT_ENV, f"publish:{step}:raise")
    with pytest.raises(OSError, match="injected"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.delenv(FAULT_ENV)
    assert published(out) == before  # the previous run, byte for byte
    assert run_dirs(out) == [before[0]]  # the failed run's promoted directory is gone
    assert state_entries(out) == entries  # no publish.json.tmp, no staging/<run>


def test_disk_full_writing_the_journal_frees_the_failed_run(good, monkeypatch):
    """ENOSPC halfway through `publish.json.tmp`: the half-written journal and the
    promoted run (its database) are removed at once, not by the next run."""
    out = good.out_dir
    before, entries = published(out), state_entries(out)
    real = sqlgen.writer.write_durable

    def full(path, data):
        if path.name == "publish.json.tmp":
            real(path, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(sqlgen.writer, "write_durable", full)
    with pytest.raises(OSError, match="No space left"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    assert published(out) == before
    assert run_dirs(out) == [before[0]]
    assert state_entries(out) == entries
    run(with_overrides(good, seed=8), show_progress=False)  # and the next run works
    assert published(out)[0] != before[0]
