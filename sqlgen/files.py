"""Durable file primitives: a file's SHA-256, bytes written and fsynced."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_sha256(path: Path, fsync: bool = False) -> str:
    """SHA-256 hex of a file, read in blocks; optionally fsync it while open."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
        if fsync:
            os.fsync(fh.fileno())
    return digest.hexdigest()


def write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
