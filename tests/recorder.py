"""A tiny HTTP server on 127.0.0.1 that records every POST (path, headers, body) and answers 200.

It stands in for an Alertmanager (``/api/v2/alerts``) and for Sysdig Monitor's alerts API; it
runs in a thread of the test process and is shut down when the ``with`` block ends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    def __init__(self, status: int = 200) -> None:
        self.requests: list[Request] = []
        self.status = status
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with recorder._lock:
                    recorder.requests.append(Request(self.path, dict(self.headers.items()), body))
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}" if recorder.status < 300 else b'{"errors": [{"message": "refused"}]}')

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def posted(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, path: str, timeout: float) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [x for x in self.posted() if x.path == path]
            if got:
                return got
            time.sleep(0.2)
        raise AssertionError(f"nothing POSTed to {path} in {timeout}s; got {[x.path for x in self.posted()]}")
