"""A run left to size its own world (`world_size`): at two row counts, cards pay a
plausible number of times a month and no customer holds more than a handful."""

from __future__ import annotations

import duckdb
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.runner import run
from sqlgen.world.catalogs import MAX_CARDS_PER_CUSTOMER

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("rows", [60_000, 480_000])
def test_payments_per_card_month_stay_plausible(tmp_path, rows):
    cfg = with_overrides(load_config(), rows=rows, num_workers=1, out_dir=tmp_path / "out")
    cards = cfg.catalog.num_cards
    assert cfg.catalog.derived == {"num_cards", "num_customers", "num_merchants"}
    result = run(cfg, show_progress=False)
    assert result.manifest["fraud_rows"] == cfg.fraud_target  # exact, whatever the world
    con = duckdb.connect(str(tmp_path / "out" / "sqlgen.duckdb"), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    # payments a month of each card that paid that month (replacement cards excluded)
    median, p99 = con.execute(
        """WITH m AS (SELECT card_id, date_trunc('month', event_time), count(*) AS n
                      FROM payments WHERE card_id < ? GROUP BY ALL)
           SELECT quantile_disc(n, 0.5), quantile_disc(n, 0.99) FROM m""", [cards]).fetchone()
    # ~7 a month on average: a median card-month of a few payments, a heavy tail
    assert 2 <= median <= 10, median
    assert p99 >= 5 * median, (median, p99)
    held = con.execute(
        "SELECT max(n) FROM (SELECT customer_id, count(*) AS n FROM cards "
        "WHERE card_id < ? GROUP BY ALL)", [cards]).fetchone()[0]
    assert held <= MAX_CARDS_PER_CUSTOMER
