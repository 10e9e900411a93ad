"""The HTML report opens offline in headless Chromium and its charts render."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.cli.test_cli import TINY, sqlgen

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("chromium not installed")
    return exe


def png_pixels(path: Path) -> bytes:
    """Decompressed scanlines of a PNG (enough to tell a blank page from a drawn one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


@pytest.fixture(scope="module")
def html_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    out, page = tmp / "out", tmp / "report.html"
    assert sqlgen("run", "--config", TINY, "--out-dir", out, "--no-progress").returncode == 0
    proc = sqlgen("report", "--out-dir", out, "--html", page)
    assert proc.returncode == 0, proc.stderr
    return page


def test_html_is_self_contained(html_report):
    html = html_report.read_text()
    assert "<script src=" not in html  # plotly.js is inlined: no network needed
    assert html.count('class="plotly-graph-div"') == 7
    for title in (
        "by local hour",
        "by day",
        "fraud vs genuine",
        "Rank-frequency",
        "Fraud by scenario",
        "by MCC",
        "by channel",
        "Single-feature ROC AUC",
    ):
        assert title in html
    assert "run_id" in html and "fraud_target" in html


@pytest.mark.slow
def test_charts_render_in_headless_chromium(html_report, tmp_path):
    exe = chromium()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [exe, *CHROMIUM_FLAGS, *profile, "--dump-dom", html_report.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # Plotly draws each chart as SVG layers of class main-svg once its script has run.
    assert dom.stdout.count('class="main-svg"') >= 7
    errors = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)
    ]
    assert errors == []
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            exe,
            *CHROMIUM_FLAGS,
            *profile,
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            html_report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    pixels = png_pixels(shot)
    assert len(set(pixels)) > 50  # a blank page has a handful of byte values
