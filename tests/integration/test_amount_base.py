"""`amount_base`: v3 amounts in one base currency (money.base_currency, default EUR),
converted in the chunk query with the FX table and rounded as money."""

from __future__ import annotations

import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlgen.config import load_config, with_overrides
from sqlgen.publish.validate import validate
from sqlgen.runner import run
from tests.conftest import TINY

# schema/money.yaml, written out by hand: units of the currency per EUR, minor units.
RATES = {"EUR": (Decimal("1"), 2), "USD": (Decimal("1.04"), 2), "JPY": (Decimal("163"), 0)}


def expected(amount: Decimal, currency: str, base: str) -> Decimal:
    """amount / (units per EUR of its currency) * (units per EUR of the base), rounded
    half up to the base's minor units."""
    (local, _), (target, minor) = RATES[currency], RATES[base]
    return (amount / local * target).quantize(Decimal(1).scaleb(-minor), ROUND_HALF_UP)


def test_hand_checked_conversions():
    """The rule itself, on amounts worked out by hand."""
    assert expected(Decimal("1980"), "JPY", "EUR") == Decimal("12.15")  # 12.1472...
    assert expected(Decimal("19.99"), "USD", "EUR") == Decimal("19.22")  # 19.2211...
    assert expected(Decimal("25.00"), "EUR", "EUR") == Decimal("25.00")
    assert expected(Decimal("10.00"), "EUR", "JPY") == Decimal("1630")
    assert expected(Decimal("19.99"), "USD", "JPY") == Decimal("3133")  # 3133.05...
    assert expected(Decimal("980"), "JPY", "USD") == Decimal("6.25")  # 6.2527...


def _run(tmp_path_factory, base: str | None):
    out = tmp_path_factory.mktemp(f"base-{base}") / "out"
    cfg = with_overrides(
        load_config(TINY),
        rows=6_000,
        batch_size=3_000,
        realism="v3",
        out_dir=out,
        catalog={"num_customers": 600, "num_merchants": 400, "num_cards": 900},
        **({"money": {"base_currency": base}} if base else {}),
    )
    run(cfg, show_progress=False)
    return cfg


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {base: _run(tmp_path_factory, base) for base in (None, "JPY", "USD")}


def _rows(cfg) -> list[tuple[Decimal, str, Decimal]]:
    con = duckdb.connect()
    glob = str(cfg.out_dir / "payments" / "**" / "*.parquet")
    return con.execute(
        "SELECT amount, CAST(currency AS VARCHAR), amount_base FROM read_parquet(?) "
        "WHERE currency IN ('EUR', 'USD', 'JPY') ORDER BY transaction_id",
        [glob],
    ).fetchall()


@pytest.mark.parametrize("base", [None, "JPY", "USD"])
def test_every_payment_in_eur_usd_jpy_converts_exactly(runs, base):
    rows = _rows(runs[base])
    currencies = {c for _, c, _ in rows}
    assert currencies == {"EUR", "USD", "JPY"}  # the example covers all three
    wrong = [(a, c, b) for a, c, b in rows if b != expected(a, c, base or "EUR")]
    assert wrong == []
    if base == "JPY":  # whole yen
        assert all(b == b.to_integral_value() for _, _, b in rows)


def test_the_base_currency_changes_amount_base_only(runs):
    """Same seed, another base currency: every other column is the same."""
    con = duckdb.connect()
    tables = {}
    for base in (None, "JPY"):
        glob = str(runs[base].out_dir / "payments" / "**" / "*.parquet")
        tables[base] = con.execute(
            "SELECT * EXCLUDE (amount_base) FROM read_parquet(?, hive_partitioning = false) "
            "ORDER BY transaction_id", [glob]).fetchall()
    assert tables[None] == tables["JPY"]


def test_amount_base_is_decimal_in_parquet_and_validates(runs):
    cfg = runs[None]
    files = sorted((cfg.out_dir / "payments").rglob("*.parquet"))
    schema = pq.read_schema(files[0])
    assert schema.field("amount_base").type == pa.decimal128(12, 2)
    names = schema.names
    assert names[names.index("currency") + 1] == "amount_base"
    assert validate(cfg.out_dir)[0] == []
    # The README's quick tour: an average of money across currencies.
    con = duckdb.connect(str(cfg.out_dir / "sqlgen.duckdb"), read_only=True)
    (avg_base,) = con.execute("SELECT avg(amount_base) FROM payments").fetchone()
    assert 5 < avg_base < 500  # EUR, not yen added to euros


def test_a_v3_file_without_amount_base_fails_validate(runs, tmp_path):
    """validate's schema check knows the v3 column."""
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(runs[None].out_dir, out, symlinks=True)
    path = sorted((out / "payments").rglob("*.parquet"))[0]
    table = pq.read_table(path, partitioning=None)
    pq.write_table(table.drop_columns(["amount_base"]), path)
    problems, _ = validate(out)
    rel = str(path.relative_to(out))
    assert f"{rel}: schema differs from schema/payments.yaml" in problems


def test_unknown_base_currency_is_one_line_and_exit_1(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sqlgen", "run", "--rows", "100", "--out-dir",
         str(tmp_path / "out"), "--set", "money.base_currency=XYZ"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "money.base_currency" in lines[0] and "'XYZ' is not in the FX table" in lines[0]
    assert "EUR" in lines[0] and "JPY" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("rate", "ok"), [(163.0, True), (1.0389, True), (1.03891, False),
                                          (400.0, False)])
def test_fx_rates_must_fit_the_integer_conversion(monkeypatch, rate, ok):
    """amount_base converts with rates in ten-thousandths below 400 (so BIGINT holds
    2 * cents * rate): a finer or larger rate in schema/money.yaml fails loudly."""
    from sqlgen.world import money

    table = {**money.money(), "currencies": {**money.money()["currencies"],
                                             "JPY": {"per_eur": rate, "minor_units": 0}}}
    monkeypatch.setattr(money, "money", lambda: table)
    money.currency_tables.cache_clear()
    try:
        if ok:
            assert money.currency_tables()[0].max() == max(rate, 11.5)
        else:
            with pytest.raises(ValueError, match="at most 4 decimals and below 400"):
                money.currency_tables()
    finally:
        money.currency_tables.cache_clear()
