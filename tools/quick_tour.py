"""Run README.md's quick tour, command by command, as a new user would.

The commands are read from the ```bash block under "## Quick tour", so the README and
this check cannot drift apart. Each line runs in bash, in a fresh temporary directory
holding copies of `configs/` and `generate.py`, with `--bin` (a virtualenv's bin
directory, e.g. one with a plain `pip install .`) first on PATH. A command passes when
it exits 0 and shows a plausible output. `.ci/run` calls this on a plain install.

    python tools/quick_tour.py --bin .smoke-venv/bin
    python tools/quick_tour.py --list        # only print the commands
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"^## Quick tour\n.*?^```bash\n(.*?)^```", re.S | re.M)


def tour_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The quick tour's command lines, as written (comments included: bash skips them)."""
    found = _BLOCK.search(readme.read_text(encoding="utf-8"))
    if found is None:
        raise ValueError(f"{readme}: no ```bash block under '## Quick tour'")
    lines = [line.rstrip() for line in found[1].splitlines() if line.strip()]
    for line in lines:
        words = shlex.split(line, comments=True)  # raises on unbalanced quotes
        if not words:
            raise ValueError(f"{readme}: quick tour line without a command: {line!r}")
    return lines


def _option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words[:-1] else None


def check_output(words: list[str], stdout: str, stderr: str, cwd: Path) -> str | None:
    """What is wrong with a command's output (None: plausible)."""
    if ">" in words:
        target = cwd / words[words.index(">") + 1]
        text = target.read_text(encoding="utf-8") if target.is_file() else ""
        return None if text.strip() else f"{target.name} is empty"
    if not (stdout.strip() or stderr.strip()):
        return "no output"
    command = words[1] if words[0] == "sqlgen" and len(words) > 1 else words[0]
    if words[0] == "python" or command == "run":
        return None if "published" in stderr else "no 'published' line"
    fmt = _option(words, "--format")
    if command == "sql" and fmt == "csv":
        rows = list(csv.reader(io.StringIO(stdout)))
        return None if len(rows) >= 2 else "CSV without data rows"
    if command == "sql" and fmt == "json":
        return None if json.loads(stdout) else "an empty JSON result"
    expected = {
        "sql": "│",
        "report": "== rows and frauds per scenario",
        "validate": "",
        "schema": "CREATE" if fmt not in (None, "text") else "transaction_id",
        "catalogs": "catalogs",
    }.get(command, "")
    return None if expected in stdout + stderr else f"no {expected!r} in the output"


def run_tour(bin_dir: Path | None, readme: Path = ROOT / "README.md") -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir.resolve()}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(bin_dir.resolve().parent)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sqlgen-tour-") as tmp:
        cwd = Path(tmp)
        shutil.copytree(ROOT / "configs", cwd / "configs")
        shutil.copy2(ROOT / "generate.py", cwd / "generate.py")
        for line in tour_commands(readme):
            words = shlex.split(line, comments=True)
            proc = subprocess.run(
                ["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                timeout=1200, stdin=subprocess.DEVNULL,
            )
            problem = (
                f"exit {proc.returncode}" if proc.returncode
                else check_output(words, proc.stdout, proc.stderr, cwd)
            )
            if problem is None:
                print(f"ok    {line}")
                continue
            failures += 1
            print(f"FAIL  {line}: {problem}")
            for stream in (proc.stdout, proc.stderr):
                tail = stream.strip().splitlines()[-15:]
                print("\n".join(f"      | {t}" for t in tail))
    total = len(tour_commands(readme))
    print(f"quick tour: {total - failures} of {total} commands ok")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=Path, help="bin directory to put first on PATH")
    parser.add_argument("--list", action="store_true", help="only print the commands")
    args = parser.parse_args()
    if args.list:
        print("\n".join(tour_commands()))
        return 0
    return run_tour(args.bin)


if __name__ == "__main__":
    sys.exit(main())
