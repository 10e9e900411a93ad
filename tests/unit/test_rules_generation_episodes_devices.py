"""Rule-level tests of a fraud row's device, browser and address (`Planner.devices`)
on hand-set rows of a chunk of the small v3 world, with scripted draws (issue 25).

The keys a ring's device and address are hashed from (slot and lease period, ring,
city, slot modulo its 4 addresses) are the rule: expected values are built from those
keys with `networks`' own functions (which have their own tests)."""

from __future__ import annotations

import numpy as np
import pytest

from sqlgen import sampling
from sqlgen.combos import combo_code, combo_table, own_kind, vocab_code
from sqlgen.generate import draws_v3
from sqlgen.generate.chunks import draw_chunk
from sqlgen.generate.plan import plan_chunks
from sqlgen.scenarios import code
from sqlgen.scenarios.base import DAY_US, HOUR_US
from sqlgen.schema import static_vocabularies
from sqlgen.world import networks, world
from tests.unit.test_rules_generation import ctx  # noqa: F401  (module fixture)
from tests.unit.test_rules_generation_episodes_constants import EXPECTED


class Queued:
    """An rng whose successive `random` calls return the given arrays, in order."""

    def __init__(self, *arrays):
        self.queue = [np.asarray(a, dtype=np.float64) for a in arrays]

    def random(self, size):
        out = self.queue.pop(0)
        assert len(out) == size, (len(out), size)
        return out


ATO, BURST, CT, LOG, CM = (code(n) for n in (
    "account_takeover", "burst", "card_testing", "logistic", "compromised_merchant"))
# row: (ring device slot, ring, scenario, own-device draw)
FRAUD = [
    (0, 0, ATO, 0.44),  # r0: on the victim's own device (0.44 < 0.45)
    (1, 0, ATO, 0.45),  # r1: the ring's device 1 (0.45 is not < 0.45)
    (5, 0, CT, 0.0),  # r2: card testing never uses the victim's device
    (2, 0, BURST, 0.1),  # r3: 0.1 is not < 0.1
    (9, 1, LOG, 0.3),  # r4: 0.3 is not < 0.3 (ring 1's slot 1)
    (8, 1, CM, 0.24),  # r5: own (0.24 < 0.25)
    (1, 0, ATO, 0.9),  # r6: r1's device again, an hour later
    (3, 0, BURST, 0.5),  # r7
]
UA_DRAWS = [0.97, 0.03]  # the browsers of r2 and r7, whose fingerprints are fresh


@pytest.fixture(scope="module")
def done(ctx):  # noqa: F811
    pop, planner = ctx.pop, ctx.pop.planner
    draws, _, _ = draw_chunk(ctx, plan_chunks(ctx.cfg)[0])
    d = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in draws.items()}
    n = len(d["event_us"])
    city = int(pop.world.customer_home[0])  # a city with residents
    t = planner.t0 + 5 * DAY_US + 10 * HOUR_US
    d["fraud_device"] = np.full(n, -1, np.int64)
    d["ring"] = np.full(n, -1, np.int64)
    d["plan_code"] = np.zeros(n, np.int8)
    d["fraud_city"] = np.full(n, -1, np.int64)
    d["proxy"] = np.zeros(n, bool)
    for r, (slot, ring, scen, _) in enumerate(FRAUD):
        d["fraud_device"][r], d["ring"][r], d["plan_code"][r] = slot, ring, scen
        d["event_us"][r] = t + (HOUR_US if r == 6 else 0)
        d["fraud_city"][r] = city
    d["proxy"][4] = True
    d["device_null"][:] = False
    d["device_fresh"][:] = False
    d["device_null"][:10] = True
    d["device_fresh"][:8] = True
    d["is_recurring"][:8] = True
    ecom = combo_code("ecom", "desktop", "ecommerce")
    pos = combo_code("pos", "pos_terminal", "chip")
    d["combo"][8:10] = ecom  # genuine online rows
    d["combo"][0] = ecom  # r0: online, on the victim's device (its slot is 0)
    d["device_fresh"][0] = False
    d["combo"][10] = pos
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
    f = [1, 2, 3, 4, 6, 7]  # the ring's rows
    new_device = np.full(n, 0.5)
    new_device[[0, 8, 9, 10]] = [0.0, 0.14, 0.15, 0.0]  # r0 is fraud: never
    rng = Queued(
        [u for *_, u in FRAUD],  # own device
        [0.79, 0.8, 0.0, 0.0, 0.79, 0.0],  # < 0.8: entry ecommerce, else card on file
        [0.2, 5 / 38, 0.0, 0.5, 0.2, 0.5],  # < 5/38: a mail or phone order
        [0.0],  # the proxy's household (r4): the city's first resident, customer 0
        [0.0, 0.0, 0.6, 0.0, 0.0, 0.59],  # fresh fingerprint: burst, card testing < 0.6
        UA_DRAWS,  # a fresh fingerprint's own browser (r2, r7)
        new_device,  # genuine online payments from a new device: < 0.15
    )
    planner.devices(d, rng)
    assert rng.queue == []
    return before, d, f, city, t


def test_rows_on_the_victims_own_device_are_left_as_the_holders(done):
    before, d, *_ = done
    for r in (0, 5):
        for col in ("device_uuid", "combo", "ip", "ip_city", "ua_idx", "device_null",
                    "device_fresh", "is_recurring"):
            assert np.array_equal(d[col][r], before[col][r]), (r, col)


def test_a_rings_device_is_its_slot_and_lease_period(ctx, done):  # noqa: F811
    before, d, f, _city, _t = done
    seed, t0 = ctx.cfg.seed, ctx.pop.planner.t0
    for r in f:
        slot = np.array([FRAUD[r][0]], np.int64)
        day = (d["event_us"][r:r + 1] - t0) / DAY_US  # days since the run's start
        period = networks.lease_epochs(slot, day, *EXPECTED["_RING_DEVICE_DAYS"], seed)
        key = (slot.astype(np.uint64) << np.uint64(16)) | period.astype(np.uint64)
        salt = seed ^ EXPECTED["_SALT_RING_DEVICE"]
        assert np.array_equal(d["device_uuid"][r], sampling.keyed_uuid4(key, salt)[0]), r
        h = sampling.mix64(key ^ np.uint64(salt))
        u1 = (h >> np.uint64(11)).astype(np.float64) / 2.0**53
        u2 = (sampling.mix64(h) >> np.uint64(11)).astype(np.float64) / 2.0**53
        kind = own_kind(u1)
        # A fresh fingerprint (r2, r7) shows a browser of its own, of the same kind.
        u = np.array([UA_DRAWS[(2, 7).index(r)]]) if r in (2, 7) else u2
        ua = networks.device_user_agents(kind, static_vocabularies()["device_type"], u,
                                         ctx.cfg.temporal.end_date.year)
        assert d["ua_idx"][r] == ua[0], r
        if r != 3:  # r3 is a phone order (desktop)
            assert combo_table()["device_type"][d["combo"][r]] == kind[0], r
    # The same slot an hour later: the same device; other slots: other devices.
    uuid = d["device_uuid"]
    assert np.array_equal(uuid[6], uuid[1])
    assert len({np.asarray(uuid[r]).tobytes() for r in (1, 2, 3, 4, 7)}) == 5
    assert not np.array_equal(uuid[1], before["device_uuid"][1])


def test_a_rings_rows_are_online_or_phone_orders_never_recurring(done):
    _, d, f, *_ = done
    tab = combo_table()
    ecom, ent = vocab_code("channel", "ecom"), vocab_code("pos_entry_mode", "ecommerce")
    cof = vocab_code("pos_entry_mode", "credential_on_file")
    assert [int(tab["channel"][d["combo"][r]]) for r in (1, 2, 4, 6, 7)] == [ecom] * 5
    assert [int(tab["pos_entry_mode"][d["combo"][r]]) for r in (1, 2, 4, 6, 7)] == [
        ent, cof, ent, ent, ent]
    assert d["combo"][3] == combo_code("moto", "desktop", "manual")
    assert not d["device_null"][f].any() and not d["is_recurring"][f].any()
    # Fresh fingerprints: burst and card-testing rows below 0.6 only (r2 at 0.0, r7 at
    # 0.59; burst r3 at 0.6 is not, nor account takeover or logistic at 0.0).
    assert d["device_fresh"][f].tolist() == [False, True, False, False, False, True]


def test_a_rings_address_is_per_ring_city_and_slot_modulo_four(ctx, done):  # noqa: F811
    _, d, f, city, t = done
    seed, t0 = ctx.cfg.seed, ctx.pop.planner.t0
    day = np.array([(t - t0) / DAY_US])
    slot_key = ((np.uint64(0) << np.uint64(20)) ^ np.uint64(city)) * np.uint64(
        EXPECTED["_RING_IPS"]) + np.uint64(1 % EXPECTED["_RING_IPS"])
    period = networks.lease_epochs(np.array([slot_key]), day, *EXPECTED["_RING_IP_DAYS"], seed)
    ip_key = np.array([slot_key]) << np.uint64(16) | period.astype(np.uint64)
    h = sampling.mix64(ip_key ^ np.uint64(seed ^ EXPECTED["_SALT_IP"]))
    want = networks.country_ip(h, world.cities().country[[city]], seed)[0]
    assert d["ip"][1] == want
    # Slots 1 and 5 of ring 0 share an address; slot 2 has another.
    assert d["ip"][2] == d["ip"][1] and d["ip"][3] != d["ip"][1]
    assert (d["ip_city"][f] == city).all()


def test_a_residential_proxy_row_leaves_from_a_residents_home_line(ctx, done):  # noqa: F811
    _, d, _f, city, t = done
    pop, seed = ctx.pop, ctx.cfg.seed
    host = pop.world.residents.lookup(np.array([city]), np.array([0.0]))
    assert host.tolist() == [0]  # customer 0 lives there (and is a resident like any)
    zero = np.zeros(1, np.int64)
    day = np.array([(t - pop.planner.t0) / DAY_US])
    lease = networks.lease_epochs(networks.household_lines(host, zero, seed), day,
                                  *draws_v3.LEASE_DAYS, seed)
    want = networks.household_ips(host, zero, seed, pop.customer_country[host], lease)
    assert d["ip"][4] == want[0]


def test_genuine_online_payments_sometimes_from_a_new_device(done):
    before, d, *_ = done
    # Row 8 (draw 0.14 < 0.15) is new: fresh, with a device; row 9 (0.15) is not; row 10
    # is at a shop (never).
    assert d["device_fresh"][8:11].tolist() == [True, False, False]
    assert d["device_null"][8:10].tolist() == [False, True]
    assert d["device_null"][10] == before["device_null"][10]
