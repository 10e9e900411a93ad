"""Rule-level tests of the publication protocol (`writer.OutputDir.publish`, `complete`,
`recover`, `abandon`) on hand-made staged runs, no generator: the order of the renames,
exchanges, symlinks and fsyncs that make each step durable, recorded from the real calls,
and every partial state of it rolled back (before the journal) or forward (from it).

The protocol, as the module docstring states it: promote the staged run into `runs/`,
record its directories' inode numbers, fsync every file and directory of it and `runs/`;
create the database link; write the journal (temporary file, fsync, rename, fsync of
`.sqlgen`: the commit point); put payments/ then catalog/ in place (an exchange, a
rename the first time, or two renames without renameat2), fsync out_dir and the run;
point `current` (a new symlink renamed over it, fsync of `.sqlgen`); remove the journal
and fsync `.sqlgen`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import sqlgen.publish.writer as writer
from sqlgen.errors import SqlgenError
from sqlgen.publish.writer import COMMITTED_STEPS, PUBLISH_STEPS, OutputDir

RUN1 = "20261205T070000Z-00000001"
RUN2 = "20261205T080000Z-00000002"


def _stage(out: OutputDir, run_id: str, tag: str) -> None:
    """A staged run: one payments file, one catalog file and a database file, each
    holding `tag` (to tell runs apart)."""
    payments, catalog = out.stage(run_id)
    (payments / "year=2026").mkdir()
    (payments / "year=2026" / "part-0.parquet").write_text(tag)
    (catalog / "merchants.parquet").write_text(tag)
    (out.staged_run(run_id) / "sqlgen.duckdb").write_text(tag)


def _record(monkeypatch, exchange: bool = True, fail_at: str | None = None):
    """Record faults, renames, exchanges, symlinks, unlinks and fsyncs (by resolved
    path) as (kind, text) pairs; `exchange=False` plays a filesystem without renameat2;
    `fail_at` raises OSError at that fault point."""
    events: list[tuple[str, str]] = []
    real = {n: getattr(os, n) for n in ("fsync", "rename", "symlink", "unlink")}
    real_exchange = writer.exchange_paths

    def fault(step):
        events.append(("fault", step))
        if step == fail_at:
            raise OSError(5, f"injected at {step}")

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real["fsync"](fd)

    def rename(src, dst, *a, **k):
        events.append(("rename", f"{os.fspath(src)} -> {os.fspath(dst)}"))
        return real["rename"](src, dst, *a, **k)

    def symlink(src, dst, *a, **k):
        events.append(("symlink", f"{os.fspath(dst)} = {os.fspath(src)}"))
        return real["symlink"](src, dst, *a, **k)

    def unlink(path, *a, **k):
        events.append(("unlink", os.fspath(path)))
        return real["unlink"](path, *a, **k)

    def exchange_paths(a, b):
        events.append(("exchange", f"{a} <-> {b}"))
        return real_exchange(a, b) if exchange else False

    monkeypatch.setattr(writer, "fault_point", fault)
    for name, fn in (("fsync", fsync), ("rename", rename), ("symlink", symlink),
                     ("unlink", unlink)):
        monkeypatch.setattr(os, name, fn)
    monkeypatch.setattr(writer, "exchange_paths", exchange_paths)
    return events


def _ordered(events, expected):
    """Each expected event occurs, in this order (other events may come between)."""
    pos = 0
    for want in expected:
        try:
            pos = events.index(want, pos) + 1
        except ValueError:
            raise AssertionError(f"{want} missing or out of order in {events}") from None


def _moves(events):
    return [e for e in events if e[0] in ("rename", "exchange", "symlink", "unlink")]


def _ino(path: Path) -> int:
    return os.lstat(path).st_ino


def _published(tmp_path, monkeypatch=None) -> OutputDir:
    """An out_dir where RUN1 is published and RUN2 staged."""
    out = OutputDir(tmp_path / "out")
    _stage(out, RUN1, "one")
    out.publish(RUN1, None)
    _stage(out, RUN2, "two")
    return out


def test_a_first_publication_follows_the_protocol(tmp_path, monkeypatch):
    out = OutputDir(tmp_path / "out")
    _stage(out, RUN1, "one")
    events = _record(monkeypatch)
    r, s = str(out.root), str(out.state)
    run = f"{s}/runs/{RUN1}"
    assert out.publish(RUN1, None) == out.runs / RUN1
    monkeypatch.undo()
    faults = [v for k, v in events if k == "fault"]
    assert faults == list(PUBLISH_STEPS[:-1])  # every step, in order (cleanup is later)
    # The moves, exactly: nothing is there yet, so plain renames put the directories in
    # place (no exchange).
    assert _moves(events) == [
        ("rename", f"{s}/staging/{RUN1} -> {run}"),
        ("symlink", f"{r}/sqlgen.duckdb = .sqlgen/current/sqlgen.duckdb"),
        ("rename", f"{s}/publish.json.tmp -> {s}/publish.json"),
        ("rename", f"{run}/payments -> {r}/payments"),
        ("rename", f"{run}/catalog -> {r}/catalog"),
        ("symlink", f"{s}/current.new = runs/{RUN1}"),
        ("rename", f"{s}/current.new -> {s}/current"),
        ("unlink", f"{s}/publish.json"),
    ]
    # Durability: each move's directory is fsynced before the next step depends on it.
    _ordered(events, [
        ("fault", "promote"),
        ("rename", f"{s}/staging/{RUN1} -> {run}"),
        ("fsync", f"{run}/inodes.json"),
        ("fault", "fsync"),
        ("fsync", f"{run}/payments/year=2026/part-0.parquet"),
        ("fsync", f"{run}/payments/year=2026"),
        ("fsync", f"{run}/payments"),
        ("fsync", run),
        ("fsync", f"{s}/runs"),
        ("fault", "links"),
        ("symlink", f"{r}/sqlgen.duckdb = .sqlgen/current/sqlgen.duckdb"),
        ("fsync", r),
        ("fault", "journal"),
        ("fsync", f"{s}/publish.json.tmp"),
        ("rename", f"{s}/publish.json.tmp -> {s}/publish.json"),
        ("fsync", s),
        ("fault", "exchange_payments"),
        ("rename", f"{run}/payments -> {r}/payments"),
        ("fault", "exchange_catalog"),
        ("rename", f"{run}/catalog -> {r}/catalog"),
        ("fsync", r),
        ("fsync", run),
        ("fault", "view"),
        ("fault", "symlink"),
        ("symlink", f"{s}/current.new = runs/{RUN1}"),
        ("fault", "swap"),
        ("rename", f"{s}/current.new -> {s}/current"),
        ("fsync", s),
        ("fault", "unjournal"),
        ("unlink", f"{s}/publish.json"),
        ("fsync", s),
    ])
    # Every file of the run was fsynced before the journal was written.
    journal = events.index(("fault", "journal"))
    synced = {v for k, v in events[:journal] if k == "fsync"}
    for name in ("inodes.json", "sqlgen.duckdb", "catalog/merchants.parquet",
                 "payments/year=2026/part-0.parquet"):
        assert f"{run}/{name}" in synced, name
    assert events[-1] == ("fsync", s)  # the journal's removal is durable
    # The end state: the run's directories in place (their recorded inodes), current
    # at the run, the journal gone, the recorded inode numbers those of out_dir.
    inodes = json.loads((out.runs / RUN1 / "inodes.json").read_text())
    assert inodes == {"payments": _ino(out.payments), "catalog": _ino(out.catalog)}
    assert os.readlink(out.current) == f"runs/{RUN1}"
    assert not out.journal.exists() and not out.staging.joinpath(RUN1).exists()
    assert (out.payments / "year=2026" / "part-0.parquet").read_text() == "one"
    assert (out.root / "sqlgen.duckdb").read_text() == "one"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_second_publication_exchanges_the_directories(tmp_path, monkeypatch, exchange):
    out = _published(tmp_path)
    before = {n: _ino(out.root / n) for n in ("payments", "catalog")}
    events = _record(monkeypatch, exchange)
    out.publish(RUN2, None)
    monkeypatch.undo()
    r, s = str(out.root), str(out.state)
    run = f"{s}/runs/{RUN2}"
    faults = [v for k, v in events if k == "fault"]
    if exchange:
        moves = [("exchange", f"{run}/payments <-> {r}/payments"),
                 ("exchange", f"{run}/catalog <-> {r}/catalog")]
        assert faults == list(PUBLISH_STEPS[:-1])
    else:
        # Without renameat2: the published directory is moved aside into the new run
        # (`<name>.prev`), then the new one in; the journal covers the moment between.
        moves = [("exchange", f"{run}/payments <-> {r}/payments"),
                 ("rename", f"{r}/payments -> {run}/payments.prev"),
                 ("rename", f"{run}/payments -> {r}/payments"),
                 ("exchange", f"{run}/catalog <-> {r}/catalog"),
                 ("rename", f"{r}/catalog -> {run}/catalog.prev"),
                 ("rename", f"{run}/catalog -> {r}/catalog")]
        steps = list(PUBLISH_STEPS[:-1])
        steps.insert(steps.index("exchange_catalog"), "place_payments")
        steps.insert(steps.index("view"), "place_catalog")
        assert faults == steps
        _ordered(events, [moves[1], ("fault", "place_payments"), moves[2],
                          moves[4], ("fault", "place_catalog"), moves[5]])
    # The link exists already: not made again.
    assert _moves(events) == [
        ("rename", f"{s}/staging/{RUN2} -> {run}"),
        ("rename", f"{s}/publish.json.tmp -> {s}/publish.json"),
        *moves,
        ("symlink", f"{s}/current.new = runs/{RUN2}"),
        ("rename", f"{s}/current.new -> {s}/current"),
        ("unlink", f"{s}/publish.json"),
    ]
    _ordered(events, [moves[-1], ("fsync", r), ("fsync", run), ("fault", "view")])
    assert (out.payments / "year=2026" / "part-0.parquet").read_text() == "two"
    assert (out.catalog / "merchants.parquet").read_text() == "two"
    assert (out.root / "sqlgen.duckdb").read_text() == "two"
    # The previous run's directories are now inside the new run, until cleanup.
    aside = ("payments", "catalog") if exchange else ("payments.prev", "catalog.prev")
    assert [_ino(out.runs / RUN2 / a) for a in aside] == list(before.values())
    journal = json.loads((out.runs / RUN2 / "inodes.json").read_text())
    assert journal == {"payments": _ino(out.payments), "catalog": _ino(out.catalog)}
    # Cleanup removes the older run and the displaced directories, keeps the new run.
    out.cleanup_after_publish()
    assert sorted(p.name for p in out.runs.iterdir()) == [RUN2]
    assert sorted(p.name for p in (out.runs / RUN2).iterdir()) == ["inodes.json",
                                                                    "sqlgen.duckdb"]


def _state(out: OutputDir) -> tuple:
    """What a reader sees: the published run, the files of payments/ and catalog/."""
    return (out.current_run_name(),
            (out.payments / "year=2026" / "part-0.parquet").read_text(),
            (out.catalog / "merchants.parquet").read_text(),
            (out.root / "sqlgen.duckdb").read_text())


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
@pytest.mark.parametrize("step", [s for s in PUBLISH_STEPS if s != "cleanup"]
                         + ["place_payments", "place_catalog"])
def test_every_partial_state_rolls_back_or_forward_whole(tmp_path, monkeypatch, step,
                                                         exchange):
    if step.startswith("place_") and exchange:
        pytest.skip("the fallback's steps happen only without renameat2")
    out = _published(tmp_path)
    _record(monkeypatch, exchange, fail_at=step)
    with pytest.raises(OSError, match="injected"):
        out.publish(RUN2, None)
    committed = step in COMMITTED_STEPS or step.startswith("place_")
    assert out.committed(RUN2) == committed
    assert out.committed(RUN1) == (not committed)
    if not committed:
        # Before the commit point: the previous run is untouched; abandoning the failed
        # run removes everything it made.
        assert _state(out) == (RUN1, "one", "one", "one")
        out.abandon(RUN2)
        assert not (out.runs / RUN2).exists() and not out.staged_run(RUN2).exists()
        assert not out.journal.exists()
        assert _state(out) == (RUN1, "one", "one", "one")
    else:
        # After it: abandoning does nothing, and the next command completes the run.
        out.abandon(RUN2)
        assert (out.runs / RUN2).is_dir() and out.journal.is_file()
        # A reader finds the journal and completes it (no run holds the lock).
        (out.state / "lock").touch()
        out.recover_for_reading()
        assert _state(out) == (RUN2, "two", "two", "two")
        assert not out.journal.exists()
        assert not out.committed(RUN1) and out.committed(RUN2)
    # Either way, a recovery and a sweep after it change nothing a reader sees.
    seen = _state(out)
    out.sweep()
    assert _state(out) == seen
    assert sorted(p.name for p in out.runs.iterdir()) == [seen[0]]


def test_a_journal_that_names_a_run_with_another_manifest_is_refused(tmp_path):
    out = _published(tmp_path)
    out.publish(RUN2, None)
    # A hand-made journal asking for the view of a third run, whose manifest names RUN2.
    third = "20261205T090000Z-00000003"
    run = out.runs / third
    run.mkdir()
    for name in ("payments", "catalog"):
        (run / name).mkdir()
    (run / "manifest.json").write_text(json.dumps({"run_id": RUN2, "files": []}))
    inodes = {n: _ino(run / n) for n in ("payments", "catalog")}
    with pytest.raises(SqlgenError, match="not the manifest of run"):
        out.complete({"run_id": third, "inodes": inodes, "view": True})
    assert out.current_run_name() == RUN2


def test_completing_with_a_directory_missing_says_so(tmp_path):
    out = _published(tmp_path)
    inodes = {"payments": 1, "catalog": 2}  # neither in place nor in the run
    (out.runs / RUN2).mkdir()
    with pytest.raises(SqlgenError, match="payments is missing"):
        out.complete({"run_id": RUN2, "inodes": inodes, "view": False})
    assert out.current_run_name() == RUN1


def test_a_directory_already_in_place_is_left_there(tmp_path, monkeypatch):
    # Completing twice: the second time every directory is found in place by its inode
    # (an exchange is its own inverse: doing it again would undo it).
    out = _published(tmp_path)
    entry = {"run_id": RUN1, "inodes": json.loads((out.runs / RUN1 / "inodes.json")
                                                   .read_text()), "view": False}
    events = _record(monkeypatch)
    out.journal.write_text(json.dumps(entry))
    out.complete(entry)
    monkeypatch.undo()
    assert _moves(events) == [("unlink", str(out.journal))]
    assert _state(out) == (RUN1, "one", "one", "one")


def test_abandon_keeps_a_run_holding_a_published_directory_moved_aside(tmp_path):
    out = _published(tmp_path)
    run = out.runs / RUN2
    os.rename(out.staged_run(RUN2), run)
    (run / "catalog.prev").mkdir()
    out.abandon(RUN2)
    assert run.is_dir()  # never deleted: it holds a published directory
    (run / "catalog.prev").rmdir()
    (out.state / "publish.json.tmp").write_text("{}")
    out.abandon(RUN2)
    assert not run.exists() and not (out.state / "publish.json.tmp").exists()
    out.abandon(RUN1)  # the published run: never removed
    assert _state(out) == (RUN1, "one", "one", "one")


def test_the_view_is_made_and_synced_before_current_points_at_the_run(tmp_path, monkeypatch):
    import duckdb

    out = OutputDir(tmp_path / "out")
    payments, _ = out.stage(RUN1)
    rel = "year=2026/month=4/part-0.parquet"
    (payments / rel).parent.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 5 AS x) TO '{payments / rel}' (FORMAT parquet)")
    con.close()
    duckdb.connect(str(out.staged_run(RUN1) / "sqlgen.duckdb")).close()
    manifest = {"run_id": RUN1, "files": [{"path": f"payments/{rel}"}]}
    out.write_manifest(RUN1, manifest)
    events = _record(monkeypatch)
    out.publish(RUN1, manifest)
    monkeypatch.undo()
    run = str(out.runs / RUN1)
    _ordered(events, [("fault", "view"), ("fsync", f"{run}/sqlgen.duckdb"), ("fsync", run),
                      ("fault", "symlink")])
    db = duckdb.connect(str(out.database_file()), read_only=True)
    try:
        assert db.execute("SELECT x, year, month FROM payments").fetchall() == [(5, 2026, 4)]
    finally:
        db.close()
