"""A recording HTTP proxy in front of the moto server, for delivery tests.

It sees what the server sees: every request that succeeded, in the order the server
answered it, so a test can assert the order of a run's writes. It can also rewrite the
SHA-256 the server returns for chosen keys, as a corrupting store or network would, or
lose the answer to a write that landed.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOGUS_SHA256 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}


def _read_chunked(rfile) -> bytes:
    body = bytearray()
    while True:
        size = int(rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while rfile.readline().strip():  # trailers
                pass
            return bytes(body)
        body += rfile.read(size)
        rfile.readline()


class S3Proxy:
    def __init__(self, upstream: str):
        up = urllib.parse.urlsplit(upstream)
        self.upstream = (up.hostname, up.port)
        self.requests: list[tuple[str, str, str]] = []  # (method, /bucket/key, query)
        self.tamper: set[str] = set()  # key substrings whose returned SHA-256 is rewritten
        self.tamper_methods = {"GET", "HEAD", "PUT", "POST"}  # ... in answers to these
        # Key substrings whose first PUT reaches the server but whose answer is lost (the
        # connection closes), as when a network drops after the write landed.
        self.lose_answer: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def writes(self, bucket: str) -> list[tuple[str, str, str]]:
        """Successful PUT/POST/DELETE requests on `bucket`: (method, key, query); the key
        is "" for bucket-level requests (a batch delete)."""
        out = []
        for method, path, query in self.requests:
            bucket_name, _, key = path.lstrip("/").partition("/")
            if bucket_name == bucket and method in ("PUT", "POST", "DELETE"):
                out.append((method, urllib.parse.unquote(key), query))
        return out


def _handler(proxy: S3Proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _forward(self) -> None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP | {"expect"}}
            headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=120)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                out_headers = resp.getheaders()
            finally:
                conn.close()
            split = urllib.parse.urlsplit(self.path)
            if resp.status < 300:
                with proxy._lock:
                    proxy.requests.append((self.command, split.path, split.query))
                    lost = [t for t in proxy.lose_answer if t in urllib.parse.unquote(split.path)]
                    if self.command == "PUT" and lost:
                        proxy.lose_answer.discard(lost[0])
                        self.close_connection = True
                        return
            tampered = self.command in proxy.tamper_methods and any(
                t in urllib.parse.unquote(split.path) for t in proxy.tamper
            )
            self.send_response(resp.status)
            for name, value in out_headers:
                if name.lower() in _HOP:
                    continue
                if tampered and name.lower() == "x-amz-checksum-sha256":
                    value = BOGUS_SHA256 + ("-" + value.split("-")[1] if "-" in value else "")
                self.send_header(name, value)
            if tampered and b"<ChecksumSHA256>" in data:
                start = data.index(b"<ChecksumSHA256>") + len(b"<ChecksumSHA256>")
                end = data.index(b"</ChecksumSHA256>")
                suffix = data[start:end].partition(b"-")[1:]
                data = data[:start] + BOGUS_SHA256.encode() + b"".join(suffix) + data[end:]
            if self.command == "HEAD":
                self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    return Handler
