"""Publication order and every partial state of the exchange (issue 25, D).

The protocol (`writer.OutputDir.publish`): the staged run is renamed into `runs/`, every
file and directory of it fsynced, the journal written to a temporary file, fsynced,
renamed into place and its directory fsynced (the commit point, durable); then the
exchanges (payments, catalog), an fsync of out_dir, the `current` pointer renamed and
its directory fsynced, and the journal removed. The events are recorded from the real
calls (os.rename, os.fsync, os.unlink, writer.exchange_paths) during a real run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import sqlgen.publish.writer
from sqlgen.config import with_overrides
from sqlgen.errors import SqlgenError
from sqlgen.faults import FAULT_ENV
from sqlgen.publish import ownership
from sqlgen.publish.validate import validate
from sqlgen.publish.writer import COMMITTED_STEPS, FALLBACK_STEPS, OutputDir
from sqlgen.runner import run


@pytest.fixture
def good(tiny):
    cfg = with_overrides(tiny, rows=600, batch_size=300, realism="v3")
    run(cfg, show_progress=False)
    return cfg


def _record(monkeypatch, exchange: bool = True) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    real_fsync, real_rename, real_unlink = os.fsync, os.rename, os.unlink
    real_exchange = sqlgen.publish.writer.exchange_paths

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def rename(src, dst, *args, **kwargs):
        events.append(("rename", f"{os.fspath(src)} -> {os.fspath(dst)}"))
        return real_rename(src, dst, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        events.append(("unlink", os.fspath(path)))
        return real_unlink(path, *args, **kwargs)

    def exchange_paths(a, b):
        events.append(("exchange", f"{a} <-> {b}"))
        return real_exchange(a, b) if exchange else False

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(sqlgen.publish.writer, "exchange_paths", exchange_paths)
    return events


def _index(events, kind, pred) -> int:
    return next(i for i, (k, v) in enumerate(events) if k == kind and pred(v))


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_publication_happens_in_the_protocols_order(good, monkeypatch, exchange):
    out = good.out_dir
    state = out / ".sqlgen"
    events = _record(monkeypatch, exchange)
    run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    run_id = OutputDir(out).current_run_name()
    run_dir = state / "runs" / run_id
    promote = _index(events, "rename", lambda v: v.endswith(f" -> {run_dir}"))
    journal_tmp = _index(events, "fsync", lambda v: v == str(state / "publish.json.tmp"))
    commit = _index(events, "rename", lambda v: v.endswith(f" -> {state / 'publish.json'}"))
    first_move = _index(events, "exchange" if exchange else "rename",
                        lambda v: str(out / "payments") in v and ".tmp" not in v)
    catalog_move = _index(events, "exchange" if exchange else "rename",
                          lambda v: str(out / "catalog") in v)
    swap = _index(events, "rename", lambda v: v.endswith(f" -> {state / 'current'}"))
    unjournal = _index(events, "unlink", lambda v: v == str(state / "publish.json"))
    assert promote < journal_tmp < commit < first_move < catalog_move < swap < unjournal
    if not exchange:  # two renames a directory: aside, then the new one in, then the next
        back = _index(events, "rename",
                      lambda v: v == f"{run_dir / 'payments'} -> {out / 'payments'}")
        assert first_move < back < catalog_move
        assert events[first_move][1] == f"{out / 'payments'} -> {run_dir / 'payments.prev'}"
    # The run's files are durable before the commit point...
    synced = {v for k, v in events[promote:commit] if k == "fsync"}
    assert {str(run_dir / "payments"), str(run_dir / "catalog"), str(run_dir),
            str(state / "runs")} <= synced
    # ... and so is the journal's rename: its directory is fsynced before anything moves.
    assert ("fsync", str(state)) in events[commit:first_move]
    # The exchanges are durable (out_dir fsynced) before the pointer moves, the pointer's
    # rename before the journal goes.
    assert ("fsync", str(out)) in events[catalog_move:swap]
    assert ("fsync", str(state)) in events[swap:unjournal]
    assert validate(out)[0] == []


def _visible(out: Path) -> tuple[str, str, str]:
    """The published manifest's run id and seed, and the current run."""
    o = OutputDir(out)
    manifest = o.read_manifest()
    return manifest["run_id"], manifest["seed"], o.current_run_name()


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
@pytest.mark.parametrize("step", COMMITTED_STEPS[:-1] + FALLBACK_STEPS)
def test_every_partial_state_rolls_back_or_forward_whole(good, monkeypatch, step, exchange):
    """Publication stopped before `step`, and the run's own roll-forward fails too: the
    journal is dropped (roll-back) only while nothing visible moved; otherwise the next
    reader completes the new run. Either way readers then see one whole run."""
    if step in FALLBACK_STEPS and exchange:
        pytest.skip("only the two-rename fallback has this step")
    out = good.out_dir
    before = _visible(out)
    if not exchange:
        monkeypatch.setattr(sqlgen.publish.writer, "exchange_paths", lambda a, b: False)
    monkeypatch.setenv(FAULT_ENV, f"publish:{step}:raise")

    real_recover = OutputDir.recover

    def failing_recover(self):
        if self.journal.exists():
            raise OSError("roll-forward fails too")
        real_recover(self)

    monkeypatch.setattr(OutputDir, "recover", failing_recover)
    with pytest.raises((OSError, SqlgenError)) as failed:
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.delenv(FAULT_ENV)
    monkeypatch.undo()
    journal = out / ".sqlgen" / "publish.json"
    untouched = step == "exchange_payments"
    if untouched:  # nothing visible moved: rolled back, exit as the original failure
        assert isinstance(failed.value, OSError) and not journal.exists()
    else:  # committed and partly visible: kept for roll-forward
        assert isinstance(failed.value, SqlgenError) and journal.exists()
    problems, _ = validate(out)  # a reader completes an interrupted publication
    assert problems == []
    assert not journal.exists()
    run_id, seed, current = _visible(out)
    assert run_id == current  # payments, catalog and the database are one run
    assert seed == (before[1] if untouched else 8)
    catalog_inode = os.lstat(out / "catalog").st_ino
    assert catalog_inode in OutputDir(out).recorded_inodes("catalog")


def test_an_out_dir_reached_through_a_symlink_into_an_output_is_refused(good, tmp_path):
    """The enclosing-output check resolves the path: `link/inner` where `link` points
    into an sqlgen output is inside it, though no unresolved parent is."""
    link = tmp_path / "elsewhere" / "link"
    link.parent.mkdir()
    link.symlink_to(good.out_dir / "catalog")
    inner = link / "inner"
    assert not any(ownership.is_sqlgen_output(p) for p in inner.parents)
    with pytest.raises(SqlgenError, match="is inside the sqlgen output"):
        ownership.status(OutputDir(inner))
    with pytest.raises(SqlgenError, match="is inside the sqlgen output"):
        run(with_overrides(good, out_dir=inner), show_progress=False)
    assert not os.path.lexists(good.out_dir / "catalog" / "inner")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_a_run_leaves_no_descriptor_open_and_syncs_its_owner_marker(tiny, monkeypatch):
    cfg = with_overrides(tiny, rows=600, batch_size=300, realism="v3", num_workers=1)
    before = _open_fds()
    events = _record(monkeypatch)
    run(cfg, show_progress=False)  # a first run: claims the out_dir
    monkeypatch.undo()
    state = cfg.out_dir / ".sqlgen"
    assert ("fsync", str(state / "owner")) in events
    run(with_overrides(cfg, seed=8), show_progress=False)
    assert _open_fds() - before == set()


def _half_published(good, monkeypatch) -> Path:
    """Publication stopped after payments/ was exchanged (journal kept)."""
    monkeypatch.setenv(FAULT_ENV, "publish:exchange_catalog:raise")
    real_recover = OutputDir.recover

    def failing_recover(self):
        if self.journal.exists():
            raise OSError("roll-forward fails too")
        real_recover(self)

    monkeypatch.setattr(OutputDir, "recover", failing_recover)
    with pytest.raises(SqlgenError, match="is committed"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    journal = good.out_dir / ".sqlgen" / "publish.json"
    assert journal.exists()
    return journal


def test_a_reader_leaves_a_publication_alone_while_a_run_holds_the_lock(good, monkeypatch):
    import fcntl

    journal = _half_published(good, monkeypatch)
    with open(good.out_dir / ".sqlgen" / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live run's lock
        OutputDir(good.out_dir).recover_for_reading()
        assert journal.exists()  # what a live run is doing is not a reader's to finish
        fcntl.flock(held, fcntl.LOCK_UN)
    OutputDir(good.out_dir).recover_for_reading()
    assert not journal.exists()
    assert validate(good.out_dir)[0] == []
    run_id, seed, current = _visible(good.out_dir)
    assert run_id == current and seed == 8


def test_a_roll_back_makes_the_journals_removal_durable(good, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "publish:exchange_payments:raise")
    real_recover = OutputDir.recover

    def failing_recover(self):
        if self.journal.exists():
            raise OSError("roll-forward fails too")
        real_recover(self)

    monkeypatch.setattr(OutputDir, "recover", failing_recover)
    events = _record(monkeypatch)
    with pytest.raises(OSError, match="injected fault"):
        run(with_overrides(good, seed=8), show_progress=False)
    monkeypatch.undo()
    state = good.out_dir / ".sqlgen"
    gone = events.index(("unlink", str(state / "publish.json")))
    assert ("fsync", str(state)) in events[gone:]
