"""The world a run draws from: places and land, time zones, money and FX, networks and
devices, merchant-category profiles, and the catalogs (customers, merchants, cards) built
from them. Imports config and the foundations; never generation, publication or above.
"""
