"""A real moto S3/SSM server on 127.0.0.1, reached over HTTP by boto3 in subprocesses."""

from __future__ import annotations

import socket
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url, monkeypatch):
    """Fresh moto state and an AWS environment pointing at it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "2",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    import boto3

    return {
        "url": moto_url,
        "s3": boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1"),
        "ssm": boto3.client("ssm", endpoint_url=moto_url, region_name="us-east-1"),
    }


@pytest.fixture
def proxy(aws, monkeypatch):
    """A recording proxy in front of moto; AWS_ENDPOINT_URL points at it."""
    from tests.s3.proxy import S3Proxy

    prox = S3Proxy(aws["url"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", prox.url)
    yield prox
    prox.close()


@pytest.fixture
def small_parts(monkeypatch):
    """Multipart uploads of tiny files: 16 KiB parts (the server's minimum lowered)."""
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)
    monkeypatch.setenv("SQLGEN_S3_PART_BYTES", str(16 * 1024))
