"""Rule-level tests of v3 attributes (`draws_v3.same_shop_when_rushed`, `attributes_v3`):
rushed shop changes on hand-checked rows; channel, device, network and amount columns of
a drawn chunk against the rules that make them (issue 25)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sqlgen.combos import combo_table, vocab_code
from sqlgen.generate import draws_v3
from sqlgen.generate.plan import plan_chunks
from sqlgen.world import world
from tests.unit.test_rules_generation import DAY0, ctx  # noqa: F401  (module fixture)

S = 1_000_000  # a second in microseconds
KM_PER_DEG = 6371.0 * np.pi / 180  # 111.19 km per degree of latitude


def _shops(rows):
    """rows: (card, remote, seconds, merchant, km north of 48 N)."""
    card, remote, sec, merchant, km = (np.array(x) for x in zip(*rows, strict=True))
    return {"card_id": card, "remote": remote.astype(bool),
            "event_us": DAY0 + (sec * S).astype(np.int64), "merchant_id": merchant,
            "latitude": 48.0 + km / KM_PER_DEG, "longitude": np.full(len(card), 2.0),
            "zone": np.zeros(len(card), np.int16)}


def test_rushed_in_person_payments_move_to_the_first_shop():
    zone_of = np.arange(100, dtype=np.int16) + 1000
    s = _shops([
        (1, 0, 0, 10, 0.0), (1, 0, 30, 11, 10.0),  # 10 km in 30 s: 1200 km/h, moves
        (2, 0, 0, 20, 0.0), (2, 0, 30, 21, 5.0),  # 5 km in 30 s: 600 km/h, stays
        (3, 0, 0, 30, 0.0), (3, 0, 60, 31, 100.0),  # 60 s apart: not rushed, stays
        (4, 0, 0, 40, 0.0), (4, 0, 59, 41, 100.0),  # 59 s, 100 km: moves
        (5, 0, 0, 50, 0.0), (5, 1, 10, 51, 100.0),  # the second online: stays
        (6, 1, 0, 60, 0.0), (6, 1, 10, 61, 100.0),  # both online: stay
        (7, 0, 0, 70, 0.0), (8, 0, 10, 71, 100.0),  # two cards: stay
    ])
    lat = s["latitude"].copy()
    draws_v3.same_shop_when_rushed(s, zone_of)
    assert s["merchant_id"].tolist() == [10, 10, 20, 21, 30, 31, 40, 40, 50, 51, 60, 61, 70, 71]
    moved = [1, 7]
    assert (s["latitude"][moved] == lat[[0, 6]]).all()
    assert s["zone"].tolist() == [0, 1010] + [0] * 5 + [1040] + [0] * 6


def test_a_rushed_chain_settles_in_at_most_four_rounds():
    # One card, six shops 100 km apart 10 s apart: each round moves a payment to the
    # shop of the one before; after four rounds the first five share the first shop,
    # the sixth (five steps away) keeps the shop its predecessor had then.
    s = _shops([(1, 0, 10 * i, 10 + i, 100.0 * i) for i in range(6)])
    draws_v3.same_shop_when_rushed(s, np.zeros(20, np.int16))
    assert s["merchant_id"].tolist() == [10, 10, 10, 10, 10, 11]


def test_attributes_follow_channel_device_and_network_rules(ctx):  # noqa: F811
    pop = ctx.pop
    spec = dataclasses.replace(plan_chunks(ctx.cfg)[0], rows=15_000)
    s = draws_v3.skeleton_v3(pop, spec, np.random.default_rng(5))
    order = np.argsort(s["event_us"], kind="stable")
    s = {k: v[order] for k, v in s.items()}
    # Every seventh online row away from home on a trip to city 2679 (its network there).
    trip = np.flatnonzero(s["remote"])[::7]
    s["away"][trip], s["ip_city"][trip] = True, 2679
    # Half the online rows at a subscription merchant (for the recurring rule).
    sub = np.flatnonzero(pop.world.subscription)
    assert len(sub)
    s["merchant_id"][np.flatnonzero(s["remote"])[::2]] = sub[0]
    raw = s["amount_raw"].copy()
    a = draws_v3.attributes_v3(pop, spec, dict(s), np.random.default_rng(6))
    combos = combo_table()
    pos = combos["channel"][a["combo"]] == vocab_code("channel", "pos")
    remote = a["remote"]
    assert (pos == ~remote).all()  # in person: a terminal; online: no terminal
    assert (a["device_null"] == ~remote).all()
    # Online rows on a trip keep the trip's network city (never a carrier gateway's).
    assert (a["ip_city"][trip] == 2679).all()
    # Amounts: the skeleton's sum at the merchant's scale (EUR), before local currency.
    assert np.allclose(a["amount_base"], raw * pop.merchant_scale[a["merchant_id"]])
    # Recurring: only online payments with stored credentials at subscription merchants,
    # 70 % of them.
    stored = combos["pos_entry_mode"][a["combo"]] == vocab_code(
        "pos_entry_mode", "credential_on_file")
    eligible = remote & stored & pop.world.subscription[a["merchant_id"]]
    assert not a["is_recurring"][~eligible].any()
    assert eligible.sum() > 300
    assert abs(a["is_recurring"][eligible].mean() - 0.7) < 0.07
    # The offset of each row's zone at its time.
    want = pop.world.offsets(spec).at(a["zone"], a["event_us"])
    assert (a["time_offset"] == want).all()
    # No two in-person payments of a card within a minute faster than an airliner.
    here = np.flatnonzero(~remote)
    o = here[np.lexsort((a["event_us"][here], a["card_id"][here]))]
    km = world.km_between(a["latitude"][o][1:], a["longitude"][o][1:],
                          a["latitude"][o][:-1], a["longitude"][o][:-1])
    hours = np.diff(a["event_us"][o]) / 3.6e9
    rushed = (a["card_id"][o][1:] == a["card_id"][o][:-1]) & (hours < 1 / 60)
    assert not (rushed & (km > 900 * hours)).any()
