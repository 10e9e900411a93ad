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
    # A rushed pair: a card's in-person payment copied 20 s later at a shop of another
    # country (far away): after attributes, both at the first shop.
    here = np.flatnonzero(~s["remote"])
    i = here[len(here) // 2]
    far = np.flatnonzero(pop.merchant_country != pop.merchant_country[s["merchant_id"][i]])[0]
    s = {k: np.insert(v, i + 1, v[i]) for k, v in s.items()}
    s["event_us"][i + 1] += 20 * S
    s["merchant_id"][i + 1] = far
    w = pop.world
    s["latitude"][i + 1], s["longitude"][i + 1] = w.merchant_lat[far], w.merchant_lon[far]
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
    assert a["merchant_id"][i + 1] == a["merchant_id"][i] != far
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


def test_online_devices_and_addresses_of_a_holder(ctx):  # noqa: F811
    from sqlgen import sampling
    from sqlgen.world import networks

    pop, w = ctx.pop, ctx.pop.world
    spec = dataclasses.replace(plan_chunks(ctx.cfg)[0], rows=12_000)
    s = draws_v3.skeleton_v3(pop, spec, np.random.default_rng(7))
    order = np.argsort(s["event_us"], kind="stable")
    s = {k: v[order] for k, v in s.items()}
    s["away"][:] = False  # no trips: every online row at home (or roaming)
    a = draws_v3.attributes_v3(pop, spec, dict(s), np.random.default_rng(8))
    r = np.flatnonzero(a["remote"])
    owner = pop.card_owner[a["card_id"][r]]
    day = (a["event_us"][r] - w.t0_us) / draws_v3.DAY_US  # days since the run's start
    country = pop.customer_country[owner]
    # Each of the holder's device slots j: its device (a new one, keyed by the slot's
    # lifetime, after a replacement: lives of 20-500 days) and its home address (the
    # line's lease: 7-365 days).
    slot = np.full(len(r), -1)
    home_ip = np.zeros(len(r), dtype=a["ip"].dtype)
    kind = np.zeros(len(r), dtype=np.int64)
    uuid = a["device_uuid"].reshape(len(a["ip"]), -1)[r]
    for j in range(ctx.cfg.behaviour.max_devices):
        js = np.full(len(r), j)
        dev = pop.devices.rows(owner, js)
        want = dev["uuid"].reshape(len(r), -1).copy()
        key = (owner.astype(np.uint64) << np.uint64(6)) | np.uint64(j)
        epoch = networks.lease_epochs(key, day, 20.0, 500.0, w.seed)
        new = np.flatnonzero(epoch > 0)
        want[new] = sampling.keyed_uuid4(
            key[new] ^ (epoch[new].astype(np.uint64) << np.uint64(48)),
            w.seed ^ 0xDE71CE).reshape(len(new), -1)
        hit = (uuid == want).all(axis=1) & (j < pop.devices.count[owner])
        slot[hit] = j
        kind[hit] = dev["kind"][hit]
        lease = networks.lease_epochs(networks.household_lines(owner, js, w.seed), day,
                                      7.0, 365.0, w.seed)
        home_ip[hit] = networks.household_ips(owner, js, w.seed, country, lease)[hit]
    assert (slot >= 0).all()  # every online row on one of its holder's devices
    # Slot k >= 1 with probability 0.4**k (up to the holder's count): for holders of
    # three devices 0.6, 0.24, 0.16.
    three = pop.devices.count[owner] == 3
    assert three.sum() > 1000
    share = np.bincount(slot[three], minlength=3) / three.sum()
    assert np.abs(share - [0.6, 0.24, 0.16]).max() < 0.04, share
    # An online shop sees the device's type (a card-not-present combo of that device).
    combos = combo_table()
    ecom = combos["channel"][a["combo"][r]] == vocab_code("channel", "ecom")
    assert ecom.sum() > 100
    assert (combos["device_type"][a["combo"][r][ecom]] == kind[ecom]).all()
    # Mobile carriers' gateways of the holder's country (16 a country).
    n = networks.CARRIER_IPS_PER_COUNTRY
    u = (np.arange(n) + 0.5) / n
    gateway = {}
    for c in np.unique(country).tolist():
        keys = networks.carrier_keys(np.full(n, c), u)
        for ip, k in zip(networks.carrier_ips(np.full(n, c), u, w.seed).tolist(),
                         keys.tolist(), strict=True):
            gateway[ip] = k
    ip = a["ip"][r]
    at_home = ip == home_ip
    carrier = np.array([x in gateway for x in ip.tolist()])
    mobile = kind == vocab_code("device_type", "mobile")
    assert not carrier[~mobile].any()
    # Mobile: half over the carrier (less the 5 % roaming); roaming: 5 % anywhere else.
    assert abs(carrier[mobile].mean() - 0.5 * 0.95) < 0.05
    assert abs((~at_home & ~carrier).mean() - 0.05) < 0.02
    # Roaming addresses: in a provider block (top 10 bits) of the network city's country.
    from sqlgen.schema import reference

    blocks = networks._isp_blocks(w.seed, len(reference()["countries"])).astype(np.int64)
    roam = ~at_home & ~carrier
    cc = w.city_country[a["ip_city"][r][roam]]
    assert len(np.unique(cc)) > 1
    assert (blocks[cc] == (ip[roam] >> 22)[:, None]).any(axis=1).all()
    # A carrier row's network city is its gateway's (or home, in a country of no shops).
    city = w.carrier_city(np.array([gateway[x] for x in ip[carrier].tolist()]))
    want = np.where(city >= 0, city, s["ip_city"][r][carrier])
    assert (a["ip_city"][r][carrier] == want).all()
    assert (a["ip_city"][r][at_home] == s["ip_city"][r][at_home]).all()  # the place's


def test_a_carrier_gateway_in_city_zero_is_the_rows_network_city(ctx, monkeypatch):  # noqa: F811
    # Every gateway placed in city 0 (a city id like any other): mobile carrier rows
    # take it as their network city.
    from sqlgen.world import networks

    pop, w = ctx.pop, ctx.pop.world
    w.carrier_city(np.array([0]))  # the table, made on first use
    monkeypatch.setattr(w, "_carrier_cities", np.zeros_like(w._carrier_cities))
    spec = plan_chunks(ctx.cfg)[0]
    s = draws_v3.skeleton_v3(pop, spec, np.random.default_rng(9))
    s = {k: v[np.argsort(s["event_us"], kind="stable")] for k, v in s.items()}
    s["away"][:] = False
    a = draws_v3.attributes_v3(pop, spec, dict(s), np.random.default_rng(10))
    n = networks.CARRIER_IPS_PER_COUNTRY
    u = (np.arange(n) + 0.5) / n
    gateways = set()
    for c in np.unique(pop.customer_country).tolist():
        gateways |= set(networks.carrier_ips(np.full(n, c), u, w.seed).tolist())
    carrier = a["remote"] & np.isin(a["ip"], list(gateways))
    assert carrier.sum() > 50
    assert (a["ip_city"][carrier] == 0).all()
