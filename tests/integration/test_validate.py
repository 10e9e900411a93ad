"""`sqlgen validate`: every manifest field it checks, tampered alone, is reported.

One small run is published once; each test tampers with one thing through the public
paths (`out_dir/.sqlgen/current/manifest.json`, the files the manifest names) and restores the
original bytes afterwards, so the tests do not depend on how the run is laid out behind
`payments/`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.publish.validate import validate
from sqlgen.runner import run
from tests.conftest import TINY


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("validate") / "out"
    cfg = with_overrides(load_config(TINY), out_dir=out, rows=1200, batch_size=300)
    run(cfg, show_progress=False)
    return out


class Tamper:
    """Changes files of the published run and puts the original bytes back afterwards."""

    def __init__(self, out: Path):
        self.out = out
        self.saved: dict[Path, bytes | None] = {}

    def _save(self, path: Path) -> None:
        if path not in self.saved:
            self.saved[path] = path.read_bytes() if path.exists() else None

    def write(self, path: Path, data: bytes) -> None:
        self._save(path)
        path.write_bytes(data)

    def remove(self, path: Path) -> None:
        self._save(path)
        path.unlink()

    @property
    def manifest_path(self) -> Path:
        return self.out / ".sqlgen" / "current" / "manifest.json"

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())

    def edit_manifest(self, change: Callable[[dict], object]) -> dict:
        manifest = self.manifest()
        change(manifest)
        self.write(self.manifest_path, json.dumps(manifest).encode())
        return manifest

    def restore(self) -> None:
        for path, data in self.saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)


@pytest.fixture
def tamper(published):
    t = Tamper(published)
    yield t
    t.restore()
    assert validate(published)[0] == []  # restored for the next test


def test_published_run_is_valid(published):
    problems, summary = validate(published)
    assert problems == []
    assert summary.startswith("valid: ")


def _inc(entry: dict, key: str) -> None:
    entry[key] += 1


def _first_file(m: dict) -> dict:
    return m["files"][0]


# (what is changed in the manifest, expected problem; "{path}" = the first file's path)
MANIFEST_FIELDS = [
    ("rows", lambda m: _inc(m, "rows"), "manifest row total does not match its files"),
    ("fraud_rows", lambda m: _inc(m, "fraud_rows"), "manifest fraud total does not match"),
    ("fraud_target", lambda m: _inc(m, "fraud_target"), "fraud rows, the config's target is"),
    ("files[].rows", lambda m: _inc(_first_file(m), "rows"), "{path}: "),
    ("files[].fraud_rows", lambda m: _inc(_first_file(m), "fraud_rows"), "{path}: "),
    ("files[].bytes", lambda m: _inc(_first_file(m), "bytes"), "{path}: "),
    (
        "files[].sha256",
        lambda m: _first_file(m).update(sha256="0" * 64),
        "{path}: sha256 differs from the manifest",
    ),
    (
        "files[].path",
        lambda m: _first_file(m).update(path=_first_file(m)["path"] + ".x"),
        "missing file: {path}.x",
    ),
    (
        "catalog_files[].sha256",
        lambda m: m["catalog_files"][0].update(sha256="0" * 64),
        "{catalog}: sha256 differs from the manifest",
    ),
    (
        "catalog_files[].path",
        lambda m: m["catalog_files"][0].update(path="catalog/nowhere.parquet"),
        "missing catalog file: catalog/nowhere.parquet",
    ),
]


@pytest.mark.parametrize(
    ("field", "change", "expected"), MANIFEST_FIELDS, ids=[f[0] for f in MANIFEST_FIELDS]
)
def test_each_manifest_field_tampered_alone_is_reported(tamper, field, change, expected):
    original = tamper.manifest()
    path, catalog = original["files"][0]["path"], original["catalog_files"][0]["path"]
    tamper.edit_manifest(change)
    problems, _ = validate(tamper.out)
    expected = expected.format(path=path, catalog=catalog)
    assert any(expected in p for p in problems), problems
    if field.startswith("files[]."):
        key = field.removeprefix("files[].")
        if key in ("rows", "fraud_rows"):
            # The file's own line names the count that differs (`or`, not `and`).
            f = _first_file(original)
            wrong = f["rows"] + (key == "rows"), f["fraud_rows"] + (key == "fraud_rows")
            assert any(
                p.startswith(f"{path}: ") and f"manifest says {wrong[0]} / {wrong[1]}" in p
                for p in problems
            ), problems
        if key == "bytes":
            assert any(f"{path}: " in p and "bytes, manifest says" in p for p in problems)


def test_a_file_whose_fraud_count_alone_differs_fails(tamper):
    """Rows right, frauds wrong, totals kept consistent: only the file check can see it."""

    def change(m):
        m["files"][0]["fraud_rows"] += 1
        m["files"][1]["fraud_rows"] -= 1

    manifest = tamper.edit_manifest(change)
    problems, _ = validate(tamper.out)
    assert [p for p in problems if p.startswith(manifest["files"][0]["path"])], problems
    assert [p for p in problems if p.startswith(manifest["files"][1]["path"])], problems


def _parquet_files(m: dict) -> list[str]:
    return [f["path"] for f in m["files"]]


def test_changed_file_bytes_are_reported(tamper):
    rel = _parquet_files(tamper.manifest())[0]
    path = tamper.out / rel
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other content
    tamper.write(path, bytes(data))
    problems, _ = validate(tamper.out)
    assert f"{rel}: sha256 differs from the manifest" in problems


def test_missing_and_extra_files_are_reported(tamper):
    rel = _parquet_files(tamper.manifest())[0]
    data = (tamper.out / rel).read_bytes()
    tamper.remove(tamper.out / rel)
    extra = tamper.out / "payments" / "year=2025" / "month=1" / "part-99999.parquet"
    tamper.write(extra, data)
    problems, _ = validate(tamper.out)
    assert f"missing file: {rel}" in problems
    assert "extra file not in manifest: payments/year=2025/month=1/part-99999.parquet" in problems


def test_missing_success_and_catalog_file_are_reported(tamper):
    catalog = tamper.manifest()["catalog_files"][0]["path"]
    tamper.remove(tamper.out / "payments" / "_SUCCESS")
    tamper.remove(tamper.out / catalog)
    problems, _ = validate(tamper.out)
    assert "payments/_SUCCESS is missing" in problems
    assert f"missing catalog file: {catalog}" in problems


def _cli_validate(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sqlgen", "validate", "--out-dir", str(out)], capture_output=True, text=True, timeout=60
    )


def _drop(key: str):
    return lambda m: m.pop(key)


def _set(value, *path):
    def change(m):
        target = m
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


MALFORMED = [
    ("not JSON", b"{not json", "is not valid JSON"),
    ("not UTF-8", b"\xff\xfe{}", "is not valid JSON"),
    ("a list", b"[]", "is malformed: not a JSON object"),
    ("no files", _drop("files"), "'files' is missing"),
    ("no run_id", _drop("run_id"), "'run_id' is missing"),
    ("files a number", _set(5, "files"), "'files' is int, expected list"),
    ("rows a string", _set("1200", "rows"), "'rows' is str, expected int"),
    ("fraud_target null", _set(None, "fraud_target"), "'fraud_target' is NoneType"),
    ("file entry a string", _set("x", "files", 0), "'files[0]' is not a JSON object"),
    ("file without sha256", lambda m: m["files"][0].pop("sha256"), "'files[0].sha256'"),
    ("file bytes a string", _set("12", "files", 0, "bytes"), "'files[0].bytes' is str"),
    ("file rows a bool", _set(True, "files", 1, "rows"), "'files[1].rows' is bool"),
    ("negative frauds", _set(-1, "files", 0, "fraud_rows"), "'files[0].fraud_rows' is negative"),
    ("catalog_files a dict", _set({}, "catalog_files"), "'catalog_files' is dict"),
    ("catalog entry no path", lambda m: m["catalog_files"][0].pop("path"), "'catalog_files[0]"),
]


def _write(tamper: Tamper, content) -> None:
    if isinstance(content, bytes):
        tamper.write(tamper.manifest_path, content)
    else:
        tamper.edit_manifest(content)


@pytest.mark.parametrize(
    ("content", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_manifest_is_one_problem_naming_it(tamper, content, expected):
    _write(tamper, content)
    problems, _ = validate(tamper.out)  # no KeyError / TypeError
    assert len(problems) == 1, problems
    assert problems[0].startswith(".sqlgen/current/manifest.json is ") and expected in problems[0]


@pytest.mark.parametrize("case", ["not JSON", "no files", "file bytes a string"])
def test_malformed_manifest_cli_one_line_exit_1(tamper, case):
    _, content, expected = next(m for m in MALFORMED if m[0] == case)
    _write(tamper, content)
    proc = _cli_validate(tamper.out)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "manifest.json" in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
