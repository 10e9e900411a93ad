"""The population a run is sized to by default: cards, customers and merchants from the
number of payments and the length of the period (`catalog.num_*` left unset).

A card should make a plausible number of payments a month whatever `rows` is: the ECB's
payment statistics for 2019 (press release "Payments statistics: 2019", 11 September
2020) count 48% of 98.0 billion non-cash payments as card payments on 572 million cards
issued in the euro area, about 82 a card a year, i.e. ~6.9 a card a month (a mean over
all cards issued, dormant ones included). Cards here are dealt payments by a Zipf
popularity, so the median card pays less than the mean and the heaviest far more.
"""

from __future__ import annotations

import datetime as dt
import math

CARD_PAYMENTS_PER_MONTH = 7.0  # mean payments a card a month (ECB 2019, see above)
CARDS_PER_CUSTOMER = 1.5  # the ECB counts ~1.7 cards per inhabitant, not all of them holders
CARDS_PER_MERCHANT = 15.0  # the built-in default's ratio (75k cards, 5k merchants)
DAYS_PER_MONTH = 365.25 / 12
MIN_CARDS = 450  # a small run still has rings, breaches and spare cards to work with
MIN_MERCHANTS = 60
# The config's upper limits on each size (kept in step with CatalogConfig).
MAX_CARDS, MAX_CUSTOMERS, MAX_MERCHANTS = 100_000_000, 50_000_000, 10_000_000
SIZE_FIELDS = ("num_cards", "num_customers", "num_merchants")
# Every process still holds the catalogs whole (generation by shards is not built), so a
# world derived from `rows` stops growing here: 100k cards (about 2.1M payments over 90
# days at the mean above) keep a worker's memory near the built-in default's. Bigger
# runs give each card more payments; explicit sizes still win (up to MAX_CARDS).
MAX_DERIVED_CARDS = 100_000


def period_months(start: dt.date, end: dt.date) -> float:
    """Length of the inclusive period `start`..`end` in average months."""
    return ((end - start).days + 1) / DAYS_PER_MONTH


def derived_sizes(rows: int, months: float, cards: int | None = None) -> dict[str, int]:
    """Catalog sizes for `rows` payments over `months`: cards so the mean card pays
    `CARD_PAYMENTS_PER_MONTH` a month (unless `cards` is given; at most
    `MAX_DERIVED_CARDS`), customers and merchants in fixed ratios to the cards, each
    within its floor and the config's limits."""
    if cards is None:
        per_card = CARD_PAYMENTS_PER_MONTH * months
        cards = min(MAX_DERIVED_CARDS, max(MIN_CARDS, round(rows / per_card)))
    customers = min(MAX_CUSTOMERS, max(1, math.ceil(cards / CARDS_PER_CUSTOMER)))
    merchants = min(MAX_MERCHANTS, max(MIN_MERCHANTS, round(cards / CARDS_PER_MERCHANT)))
    return {"num_cards": cards, "num_customers": customers, "num_merchants": merchants}
