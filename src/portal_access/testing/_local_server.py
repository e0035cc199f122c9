"""A vendor's API served on 127.0.0.1, for tests that drive the vendor's real SDK.

:class:`LocalApi` is what the fake APIs share: a free port, a daemon thread, a context
manager, and a handler that hands each request to :meth:`LocalApi.answer` and writes the
JSON it returns. A fake API subclasses it and routes the requests.

>>> class Hello(LocalApi):
...     def answer(self, request):
...         return 200, {"path": request.path}, {}
>>> with Hello() as api:
...     api.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import attrs

__all__ = ["Answer", "LocalApi", "RawRequest"]

#: A status, a JSON object (``None``: an empty body), and extra response headers.
Answer = tuple[int, dict[str, Any] | None, dict[str, str]]


@attrs.frozen
class RawRequest:
    """One request as it arrived: the path and query split, header names in lower case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    data: bytes


class LocalApi:
    """A local HTTP API; use as a context manager (or :meth:`start` / :meth:`stop`)."""

    _server: ThreadingHTTPServer | None = None

    def answer(self, request: RawRequest) -> Answer:
        """The answer to one request (called on the server's threads)."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The base URL to give the SDK."""
        assert self._server is not None, "start the fake API first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1, in a daemon thread."""
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    api: LocalApi

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = RawRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={key.lower(): value for key, value in self.headers.items()},
            data=self.rfile.read(length) if length else b"",
        )
        status, payload, headers = self.api.answer(request)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 - the stdlib's names
