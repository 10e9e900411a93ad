"""Faker-filled value pools (IP addresses, user agents), made once per run by the driver.

Rows pick from the pools by index, so Faker never runs per row, and workers receive
the pools with their task instead of importing Faker themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlgen.schema import reference


@dataclass(frozen=True)
class Pools:
    ip_address: tuple[str, ...]
    user_agent: tuple[str, ...]


def make_pools(seed: int, realism: str = "v2") -> Pools:
    if realism == "v3":  # addresses are computed; browsers come from a shipped table
        from sqlgen.world.networks import user_agents

        return Pools((), user_agents()[0])
    from faker import Faker  # imported here only: it is slow to import

    ref = reference()
    fake = Faker()
    fake.seed_instance(seed)
    # Duplicates are dropped so the pools can serve as ENUM vocabularies.
    ips = dict.fromkeys(fake.ipv4_public() for _ in range(ref["ip_pool_size"]))
    uas = dict.fromkeys(fake.user_agent() for _ in range(ref["user_agent_pool_size"]))
    return Pools(tuple(ips), tuple(uas))
