"""The numpy side of the catalogs: what draws and scenarios read.

A `Population` holds per-id arrays (card owners, home countries, merchant countries,
offsets, price levels, risk), the popularity samplers, the customers' devices and, in
realism v3, the `World`. It is built once per process from the DuckDB catalogs; the
chunk context owns the connection, this owns the arrays, so `draws` and `scenarios`
never import `chunks`.
"""

from __future__ import annotations

import duckdb
import numpy as np

from sqlgen import sampling
from sqlgen.config import GeneratorConfig
from sqlgen.generate.draws import Devices
from sqlgen.generate.profiles import profile_for
from sqlgen.render import render
from sqlgen.scenarios.card_testing import TESTING_MCCS


class Population:
    """Catalog arrays and samplers shared by every chunk of a process."""

    def __init__(self, cfg: GeneratorConfig, con: duckdb.DuckDBPyConnection):
        self.cfg = cfg
        v3 = profile_for(cfg.realism).world

        def fetch(table: str) -> dict:
            return con.execute(render("catalog_arrays.sql", table=table, world=v3)).fetchnumpy()

        self.card_popularity = _column(con, "cards", "popularity")
        self.card_risk = _column(con, "cards", "risk")
        self.cards = sampling.CdfSampler(self.card_popularity)
        self.merchants = sampling.CdfSampler(_column(con, "merchants", "popularity"))
        self.card_owner = np.asarray(fetch("cards")["owner"], dtype=np.int64)
        customers = fetch("customers")
        self.customer_country = np.asarray(customers["country"], dtype=np.int64)
        m = fetch("merchants")
        self.merchant_country = np.asarray(m["country"], dtype=np.int64)
        self.merchant_offset = np.asarray(m["utc_offset"], dtype=np.int64)
        self.merchant_scale = np.asarray(m["amount_scale"], dtype=np.float64)
        self.merchant_risk = np.asarray(m["risk"], dtype=np.float64)
        self.merchant_mcc = np.asarray(m["mcc"], dtype=object)
        popularity = np.asarray(m["popularity"], dtype=np.float64)
        self.home_merchants = sampling.GroupSampler(self.merchant_country, popularity)
        testing = np.flatnonzero(np.isin(self.merchant_mcc, TESTING_MCCS))
        self.testing_merchants = testing if len(testing) else np.arange(len(popularity))
        self.is_testing_merchant = np.zeros(len(popularity), dtype=bool)
        self.is_testing_merchant[self.testing_merchants] = True
        self.world = None
        if v3:
            from sqlgen.generate.draws_v3 import World  # v3 only: loads the cities table

            self.world = World(self, customers, m)
        self.merchant_popularity = popularity
        self.devices: Devices | None = None
        self._planner = None
        self.n_ip = self.n_ua = 0

    @property
    def planner(self):
        """v3: the run's fraud episodes and rings (`generate.episodes`), made on first use."""
        if self._planner is None:
            from sqlgen.generate.episodes import Planner

            self._planner = Planner(self)
        return self._planner

    def use_pools(self, n_ip: int, n_ua: int) -> None:
        """Pool sizes decide each device's IP and browser (known once pools are filled)."""
        self.n_ip, self.n_ua = n_ip, n_ua
        self.devices = Devices(
            self.cfg.seed,
            len(self.customer_country),
            self.cfg.behaviour.max_devices,
            n_ip,
            n_ua,
            world=self.cfg.temporal.end_date.year if self.world is not None else None,
        )


def _column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> np.ndarray:
    return np.asarray(con.table(table).select(column).fetchnumpy()[column], dtype=np.float64)
