from __future__ import annotations

import io
import logging

from sqlgen.execute.progress import Progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_redrawn_bar_with_rate_and_eta():
    out = Tty()
    bar = Progress(1000, stream=out)
    bar.update(250)
    bar.update(750)
    bar.close()
    text = out.getvalue()
    assert text.count("\r[") == 2
    assert "250/1,000 rows" in text and "1,000/1,000 rows (100.0%)" in text
    assert "rows/s" in text and "ETA" in text


def test_pipe_gets_log_lines_not_a_bar(caplog):
    out = io.StringIO()
    bar = Progress(100, stream=out, interval=3600)
    with caplog.at_level(logging.INFO, logger="sqlgen"):
        bar.update(10)  # within the interval: quiet
        bar.update(90)  # done: always logged
    assert out.getvalue() == ""
    assert [r.getMessage() for r in caplog.records][-1].startswith("progress: 100/100 rows")
    assert len(caplog.records) == 1
