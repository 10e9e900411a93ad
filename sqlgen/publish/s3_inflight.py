"""In-flight markers: a run's claim on the objects it is writing, whatever its run id.

Before a run writes any object it puts `.sqlgen/<prefix>inflight/<run_id>` in the raw
bucket (beside the prefix, like the manifest, so a reader of the prefix never sees it)
and re-puts it every `lease / 5` seconds until it ends (committed, failed or rolled
back), when it deletes it. A run is *live* while its marker exists and S3 last wrote it
less than `lease` seconds ago, both times as S3's clock gives them (the marker's
LastModified and the listing's Date), so no driver's clock matters. A commit's sweep
removes objects of runs that are not live, and never those of a live one; a killed run
stops refreshing its marker, so its objects go with the first commit after its lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import json
import logging
import os
import socket
import threading
from typing import Any

from sqlgen.publish.s3 import AWS_ERRORS, put_bytes

log = logging.getLogger("sqlgen")

LEASE_SECONDS = 600.0  # a marker not refreshed for this long belongs to a dead run
# Tests and drills: the lease in seconds (a marker is refreshed five times per lease).
LEASE_ENV = "SQLGEN_S3_LEASE_SECONDS"


def lease_seconds() -> float:
    return float(os.environ.get(LEASE_ENV) or LEASE_SECONDS)


def inflight_prefix(prefix: str) -> str:
    """Where the markers of runs writing under `prefix` live: beside it, not in it.

    >>> inflight_prefix("data/payments/")
    '.sqlgen/data/payments/inflight/'
    """
    return f".sqlgen/{prefix}inflight/"


def marker_key(prefix: str, run_id: str) -> str:
    return inflight_prefix(prefix) + run_id


def markers(s3: Any, bucket: str, prefix: str) -> tuple[set[str], set[str]]:
    """(live run ids, keys of expired markers) under `prefix`, by S3's clock."""
    live, expired = set(), set()
    lease = lease_seconds()
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=inflight_prefix(prefix)):
        found = page.get("Contents", [])
        now = _server_time(page) or max((o["LastModified"] for o in found), default=None)
        for obj in found:
            age = (now - obj["LastModified"]).total_seconds()
            if age < lease:
                live.add(obj["Key"][len(inflight_prefix(prefix)) :])
            else:
                expired.add(obj["Key"])
    return live, expired


def _server_time(page: dict) -> dt.datetime | None:
    """The answer's Date (S3's clock); a proxy may have added a second one after it.
    None when there is none: then the newest marker stands for now, which errs on the
    side of keeping (it is at most `lease / 5` old if it is this run's)."""
    value = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date", "")
    try:
        when = email.utils.parsedate_to_datetime(", ".join(value.split(", ")[:2]))
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class Marker:
    """This run's marker, refreshed by a daemon thread until `release`."""

    def __init__(self, s3: Any, bucket: str, prefix: str, run_id: str):
        self.s3, self.bucket, self.key = s3, bucket, marker_key(prefix, run_id)
        self.body = json.dumps({"run_id": run_id, "host": socket.gethostname()}).encode()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self) -> Marker:
        """Put the marker (raises on failure) and start refreshing it."""
        put_bytes(self.s3, self.bucket, self.key, self.body)
        self._thread = threading.Thread(target=self._refresh, name="sqlgen-s3-lease", daemon=True)
        self._thread.start()
        return self

    def _refresh(self) -> None:
        while not self._stop.wait(lease_seconds() / 5):
            try:
                put_bytes(self.s3, self.bucket, self.key, self.body)
            except AWS_ERRORS as exc:  # the next refresh may succeed; the lease is long
                log.debug("could not refresh %s: %s", self.key, exc)

    def release(self) -> None:
        """Stop refreshing and delete the marker, best effort (it expires anyway)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            with contextlib.suppress(*AWS_ERRORS):
                self.s3.delete_object(Bucket=self.bucket, Key=self.key)
