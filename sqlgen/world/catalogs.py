"""Customer, merchant and card catalogs: drawn with numpy, materialized as DuckDB tables.

`build_catalogs` creates the tables `customers`, `merchants` and `cards` (plus the
reference tables `countries` and `mccs`) in a connection; `write_catalogs` persists
them as Parquet, each file within `catalog.max_size_mb` (bigger tables as parts, see
`catalog_files`); `load_catalogs` reads them back.
Realism v3 publishes the generating parameters (risk, popularity, price level) apart,
in `ground_truth/<table>.parquet`, so the catalogs users query do not carry them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sqlgen import arrow_np, sampling
from sqlgen.config import CatalogConfig
from sqlgen.errors import SqlgenError
from sqlgen.render import render
from sqlgen.schema import (
    TableSchema,
    public_schema,
    reference,
    static_vocabularies,
    table_schema,
    truth_schema,
)
from sqlgen.seeds import stream
from sqlgen.world import world
from sqlgen.world.catalog_files import table_files, write_table
from sqlgen.world.money import currency_tables

CATALOG_TABLES = ("customers", "merchants", "cards")
FX_TABLE = "fx_rates"  # v3: catalog/fx_rates.parquet and a table of sqlgen.duckdb
GROUND_TRUTH = "ground_truth"  # directory under catalog/ and schema in sqlgen.duckdb


def _weights(table: list[dict], key: str = "weight") -> np.ndarray:
    return np.asarray([row[key] for row in table], dtype=np.float64)


def _locations(country_idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    countries = reference()["countries"]
    lat0 = _weights(countries, "lat")[country_idx]
    lon0 = _weights(countries, "lon")[country_idx]
    spread = _weights(countries, "spread")[country_idx]
    lat = np.clip(lat0 + rng.normal(0, 1, len(country_idx)) * spread, -89.9, 89.9)
    lon = np.clip(lon0 + rng.normal(0, 1, len(country_idx)) * spread, -179.9, 179.9)
    return lat, lon


def _country_codes(idx: np.ndarray) -> pa.Array:
    return sampling.dictionary(idx, [c["code"] for c in reference()["countries"]])


def _places(country: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """v3: a real place in each given country, drawn by population, and a point in it."""
    c = world.cities()
    city = sampling.GroupSampler(c.country, c.population).draw(country, rng)
    lat, lon = world.near(city, rng)
    zone = np.asarray(c.zones, dtype=object)[c.zone[city]]
    return {
        "city_id": city.astype(np.int32),
        "city": c.name[city],
        "zone": zone,
        "lat": lat,
        "lon": lon,
    }


def _customers(cfg: CatalogConfig, seed: int, places: bool = False) -> pa.Table:
    rng = stream(seed, "catalog.customers")
    n = cfg.num_customers
    country = sampling.draw_from_cdf(sampling.cdf(_weights(reference()["countries"])), n, rng)
    if places:
        p = _places(country, rng)
        lat, lon = p["lat"], p["lon"]
        extra = {"home_city_id": p["city_id"], "home_city": p["city"], "home_time_zone": p["zone"]}
    else:
        lat, lon = _locations(country, rng)
        extra = {}
    return arrow_np.table(
        {
            "customer_id": np.arange(n, dtype=np.int64),
            "home_country": _country_codes(country),
            "home_lat": lat,
            "home_lon": lon,
            "popularity": sampling.zipf_weights(n, cfg.zipf_customers, rng),
            **extra,
        }
    )


def _merchants(cfg: CatalogConfig, seed: int, places: bool = False) -> pa.Table:
    rng = stream(seed, "catalog.merchants")
    n = cfg.num_merchants
    ref = reference()
    mcc = sampling.draw_from_cdf(sampling.cdf(_weights(ref["mccs"])), n, rng)
    country = sampling.draw_from_cdf(sampling.cdf(_weights(ref["countries"])), n, rng)
    offset = _weights(ref["countries"], "utc_offset")[country].astype(np.int16)
    extra = {}
    if places:
        p = _places(country, rng)
        lat, lon = p["lat"], p["lon"]
        offset = world.standard_offsets()[world.cities().zone[p["city_id"]]]
        extra = {"city_id": p["city_id"], "city": p["city"], "time_zone": p["zone"]}
    else:
        lat, lon = _locations(country, rng)
    return arrow_np.table(
        {
            "merchant_id": np.arange(n, dtype=np.int64),
            "mcc_code": sampling.dictionary(mcc, [m["code"] for m in ref["mccs"]]),
            "country_code": _country_codes(country),
            # Denormalized from the reference tables so a chunk joins one table less.
            "currency": sampling.dictionary(country, [c["currency"] for c in ref["countries"]]),
            "utc_offset": offset,
            "amount_scale": _weights(ref["mccs"], "amount_scale")[mcc],
            "latitude": lat,
            "longitude": lon,
            "risk": rng.beta(cfg.merchant_risk_alpha, cfg.merchant_risk_beta, n),
            "popularity": sampling.zipf_weights(n, cfg.zipf_merchants, rng),
            **extra,
        }
    )


MAX_CARDS_PER_CUSTOMER = 5  # v3: a handful of cards per customer at most


def _card_draws(cfg: CatalogConfig, seed: int, customer_popularity: np.ndarray,
                world: bool = False) -> pa.Table:
    rng = stream(seed, "catalog.cards")
    n, owners = cfg.num_cards, cfg.num_customers
    # Every customer holds at least one card while cards last; the rest are dealt
    # by customer popularity, so heavy customers carry several cards.
    first = rng.permutation(owners)[: min(n, owners)]
    extra = sampling.draw_from_cdf(sampling.cdf(customer_popularity), n - len(first), rng)
    owner = np.concatenate([first, extra]).astype(np.int64)
    if world:
        owner = _bounded_owners(owner, owners, rng)
    scheme, vocab = sampling.categorical(reference()["card_schemes"], n, rng)
    popularity = sampling.zipf_weights(n, cfg.zipf_cards, rng)
    card_id = np.arange(n, dtype=np.int64)
    bins, risk = rng.integers(0, 100_000, n), rng.beta(cfg.card_risk_alpha, cfg.card_risk_beta, n)
    if world:
        # v3: one replacement card per customer (card_id num_cards + customer_id), used
        # only once a card of theirs is blocked (`episodes.Planner.settle`): no
        # popularity of its own, never drawn for other payments.
        spare = np.arange(owners, dtype=np.int64)
        owner = np.concatenate([owner, spare])
        card_id = np.concatenate([card_id, n + spare])
        bins = np.concatenate([bins, rng.integers(0, 100_000, owners)])
        extra_scheme, _ = sampling.categorical(reference()["card_schemes"], owners, rng)
        scheme = np.concatenate([scheme, extra_scheme])
        risk = np.concatenate([risk, rng.beta(cfg.card_risk_alpha, cfg.card_risk_beta, owners)])
        popularity = np.concatenate([popularity, np.zeros(owners)])
    return arrow_np.table(
        {
            "card_id": card_id,
            "customer_id": owner,
            "bin": bins,
            "card_scheme": sampling.dictionary(scheme, vocab),
            "risk": risk,
            "popularity": popularity,
        }
    )


def cards_per_customer_limit(cards: int, customers: int) -> int:
    """Most cards one customer holds in v3: `MAX_CARDS_PER_CUSTOMER`, or the fewest that
    fit every card when the config gives more cards than that per customer."""
    return max(MAX_CARDS_PER_CUSTOMER, -(-cards // customers))


def _bounded_owners(owner: np.ndarray, owners: int, rng: np.random.Generator) -> np.ndarray:
    """Owners with at most `cards_per_customer_limit` cards each: cards beyond a
    customer's limit go to random customers (a few rounds), then any still over to
    customers with room left (in random order)."""
    owner = owner.copy()
    limit = cards_per_customer_limit(len(owner), owners)
    for _ in range(20):
        over = _over_limit(owner, limit)
        if len(over) == 0:
            return owner
        owner[over] = rng.integers(0, owners, len(over))
    over = _over_limit(owner, limit)
    if len(over):  # a tight fit the random rounds did not settle
        held = np.bincount(np.delete(owner, over), minlength=owners)
        room = np.repeat(np.arange(owners), limit - held)
        owner[over] = rng.permutation(room)[: len(over)]
    return owner


def _over_limit(owner: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the cards beyond their owner's first `limit` (in card order)."""
    order = np.argsort(owner, kind="stable")
    o = owner[order]
    start = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    rank = np.arange(len(o)) - np.repeat(start, np.diff(np.r_[start, len(o)]))
    return order[rank >= limit]


def create_enum_types(con: duckdb.DuckDBPyConnection, vocabularies: dict) -> None:
    """Create `<name>_enum` ENUM types (once per connection)."""
    existing = {r[0] for r in con.execute(render("list_enum_types.sql")).fetchall()}
    for name, values in vocabularies.items():
        if f"{name}_enum" not in existing:
            con.execute(render("create_enum.sql", name=f"{name}_enum"), {"values": list(values)})


def _pan_hash_enum(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """pan_hash is an ENUM over the catalog's cards: joined and written as integers."""
    con.execute(
        render(
            "create_enum_from_column.sql",
            name="pan_hash_enum",
            column="pan_hash",
            source=source,
            order_by="card_id",
        )
    )


def _columns(rows: list[dict]) -> pa.Table:
    """A list of records (the reference YAML) as a table, one column per key."""
    return arrow_np.table({k: np.asarray([r[k] for r in rows]) for k in rows[0]})


def create_reference_tables(con: duckdb.DuckDBPyConnection, world: bool = False) -> None:
    """The reference tables (countries, mccs; v3 also the FX table `fx_rates`: units of
    each currency per EUR and its minor units, what v3's amounts were converted with)."""
    ref = reference()
    con.register("countries_src", _columns(ref["countries"]))
    con.register("mccs_src", _columns(ref["mccs"]))
    if world:
        per_eur, minor = currency_tables()
        con.register("fx_src", arrow_np.table({
            "currency": np.asarray(static_vocabularies()["currency"], dtype=object),
            "units_per_eur": per_eur, "minor_units": minor}))
    con.execute(render("reference_tables.sql", fx=world))
    con.unregister("countries_src")
    con.unregister("mccs_src")
    if world:
        con.unregister("fx_src")


def _materialize(
    con: duckdb.DuckDBPyConnection, table: str, source: str, realism: str | None = None
) -> None:
    con.execute(render("create_table.sql", schema=table_schema(table, realism), source=source))


def build_catalogs(
    con: duckdb.DuckDBPyConnection, cfg: CatalogConfig, seed: int, world: bool = False
) -> None:
    """Create the catalog tables in `con`; the same config and seed give the same rows.
    `world` (realism v3): customers and merchants sit in real places."""
    create_enum_types(con, static_vocabularies())
    realism = "v3" if world else None
    customers = _customers(cfg, seed, world)
    con.register("customer_draws", customers)
    _materialize(con, "customers", "customer_draws", realism)
    con.register("merchant_draws", _merchants(cfg, seed, world))
    _materialize(con, "merchants", "merchant_draws", realism)
    popularity = arrow_np.numbers(customers.column("popularity"))
    con.register("card_draws", _card_draws(cfg, seed, popularity, world))
    con.register("card_rows", con.sql(render("cards_from_draws.sql")))
    _pan_hash_enum(con, "card_rows")
    _materialize(con, "cards", "card_rows")
    for view in ("customer_draws", "merchant_draws", "card_draws", "card_rows"):
        con.unregister(view)
    create_reference_tables(con, world)


def write_catalogs(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    max_size_mb: float,
    realism: str | None = None,
) -> None:
    """Catalog Parquet files, each at most `max_size_mb` (a bigger table is written as a
    folder of parts: `catalog_files`); v3 writes the generating parameters to
    `ground_truth/`."""
    directory.mkdir(parents=True, exist_ok=True)
    parts: list[tuple[str, Path, list[str] | None]] = []
    for table in CATALOG_TABLES:
        if realism == "v3":
            (directory / GROUND_TRUTH).mkdir(exist_ok=True)
            parts.append((table, directory / f"{table}.parquet",
                          public_schema(table, realism).names))
            parts.append((table, directory / GROUND_TRUTH / f"{table}.parquet",
                          truth_schema(table).names))
        else:
            parts.append((table, directory / f"{table}.parquet", None))
    if realism == "v3":  # the FX table v3's amounts were converted with
        parts.append((FX_TABLE, directory / f"{FX_TABLE}.parquet", None))
    for table, path, columns in parts:
        key = "currency" if table == FX_TABLE else table_schema(table).columns[0].name
        write_table(con, table, path, columns, key, max_size_mb)


def database_tables(realism: str | None) -> list[tuple[str | None, str, TableSchema | None]]:
    """What `sqlgen.duckdb` holds: (schema, table, columns) copied from the catalogs; v3
    adds the ground-truth tables in their own schema."""
    level = "v3" if realism == "v3" else None
    tables: list[tuple[str | None, str, TableSchema | None]] = [
        (None, t, public_schema(t, level)) for t in CATALOG_TABLES
    ]
    tables += [(None, "countries", None), (None, "mccs", None)]
    if realism == "v3":
        tables.append((None, FX_TABLE, None))
        tables += [(GROUND_TRUTH, t, truth_schema(t)) for t in CATALOG_TABLES]
    return tables


def load_catalogs(
    con: duckdb.DuckDBPyConnection, directory: Path, realism: str | None = None
) -> None:
    create_enum_types(con, static_vocabularies())
    for table in CATALOG_TABLES:
        path = table_files(directory / f"{table}.parquet")
        truth = table_files(directory / GROUND_TRUTH / f"{table}.parquet")
        wanted = [(path, directory / f"{table}.parquet")]
        if realism == "v3":
            wanted.append((truth, directory / GROUND_TRUTH / f"{table}.parquet"))
        for files, where in wanted:
            if not files:
                raise SqlgenError(f"catalog file {where} is missing; run `sqlgen catalogs` first")
        if realism == "v3":
            key = truth_schema(table).columns[0].name
            con.execute(render("load_catalog_parts.sql", view="catalog_file", public=path,
                               truth=truth, key=key))
        else:
            con.execute(render("load_parquet_table.sql", view="catalog_file", path=path))
        if table == "cards":
            _pan_hash_enum(con, "catalog_file")
        _materialize(con, table, "catalog_file", realism)
        con.execute(render("drop_view.sql", view="catalog_file"))
    create_reference_tables(con, realism == "v3")
