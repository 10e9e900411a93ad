"""Rule-level tests of the out_dir's bookkeeping (`writer.OutputDir`) on hand-made
directories, no run needed: the journal's checks, what a failed run leaves, and the
lock's descriptor (issue 25, sample 94243745)."""

from __future__ import annotations

import json
import os

import pytest

from sqlgen.errors import SqlgenError
from sqlgen.writer import OutputDir

RUN = "20261205T070000Z-0123abcd"


def _journal(tmp_path, entry) -> OutputDir:
    out = OutputDir(tmp_path)
    out.state.mkdir(parents=True)
    out.journal.write_text(json.dumps(entry))
    return out


@pytest.mark.parametrize("entry", [
    {"run_id": RUN, "inodes": {"payments": 1}},  # catalog's inode missing
    {"run_id": RUN, "inodes": {"payments": 1, "catalog": 2, "extra": 3}},
    {"run_id": "../x", "inodes": {"payments": 1, "catalog": 2}},  # not a run name
    {"run_id": RUN},
])
def test_a_journal_missing_a_directory_or_run_name_is_refused(tmp_path, entry):
    with pytest.raises(SqlgenError, match="unreadable"):
        _journal(tmp_path, entry).read_journal()


def test_a_well_formed_journal_is_read(tmp_path):
    entry = {"run_id": RUN, "inodes": {"payments": 1, "catalog": 2}, "previous": None}
    assert _journal(tmp_path, entry).read_journal() == entry
    assert OutputDir(tmp_path / "none").read_journal() is None


def test_a_failed_run_leaves_nothing_staged_or_promoted(tmp_path):
    out = OutputDir(tmp_path)
    payments, _ = out.stage(RUN)
    (payments / "part-0.parquet").write_bytes(b"x" * 100)
    (out.runs / RUN).mkdir(parents=True)
    out.abandon(RUN)
    assert not out.staged_run(RUN).exists() and not (out.runs / RUN).exists()


def test_tidying_before_reading_closes_the_lock_file(tmp_path):
    out = _journal(tmp_path, {"run_id": RUN})  # unreadable: a warning, nothing done
    (out.state / "lock").touch()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        out.recover_for_reading()
    assert len(os.listdir("/proc/self/fd")) == before
