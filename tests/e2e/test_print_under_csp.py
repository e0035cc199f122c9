"""The document page's Print button under a strict Content-Security-Policy, in headless
Chromium, for the Flask integration (the Django one: ``tests/django/test_print_under_csp.py``,
on these helpers).

Each app is served over real HTTP with every response's policy replaced by
:data:`STRICT` (no inline script, no inline event handler, no inline style). The page
must report no violation, and a click on "Print" must call ``window.print`` (stubbed
by an init script, which Playwright runs outside the page's policy, so that no print
dialog opens in the headless browser).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tests.e2e.test_flask_portal_browser import CHROMIUM, chromium

#: A policy as strict as a host may send: scripts and styles from the portal's origin only.
STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

#: Run in every page before its own scripts: record violations, stub the print dialog.
WATCH = """
window.portalPrinted = 0;
window.print = function () { window.portalPrinted += 1; };
window.portalViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.portalViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (CI installs it)",
)


def strict_policy(app: Callable[..., Any]) -> Callable[..., Any]:
    """``app`` with every response's Content-Security-Policy replaced by :data:`STRICT`."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: Sequence[tuple[str, str]], *exc: Any) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != "content-security-policy"]
            return start_response(status, [*kept, ("Content-Security-Policy", STRICT)], *exc)

        return app(environ, start)

    return wrapped


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    """``app`` under :data:`STRICT` on a free local port: its base URL."""
    server = make_server(
        "127.0.0.1", 0, strict_policy(app), server_class=_Server, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def print_document(browser: Any, base: str, cookie: tuple[str, str], path: str) -> None:
    """Open the document page logged in (``cookie``), click Print: one print, no violation."""
    context = browser.new_context()
    try:
        context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base}])
        context.add_init_script(WATCH)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        response = page.goto(base + path)
        assert response is not None
        assert response.status == 200
        assert response.headers["content-security-policy"] == STRICT
        page.wait_for_load_state("load")
        button = page.get_by_role("button", name="Print")
        button.click()
        assert page.evaluate("window.portalPrinted") == 1
        assert page.evaluate("window.portalViolations") == []
        assert [text for text in console if "Content Security Policy" in text] == []
        assert page.locator("[data-portal-print-hint]").is_hidden()
    finally:
        context.close()


def test_flask_print_under_a_strict_policy():
    from tests.integration.test_flask_documents import (  # noqa: PLC0415
        account_of,
        full_access,
        host_invoice,
        invoice_ref,
        link_for,
        with_documents,
    )

    harness = with_documents()
    contact_id = full_access(harness)
    harness.portal.save_invoice(host_invoice(account_of(harness, contact_id), gateway="sandbox"))
    path = link_for(harness, contact_id, invoice_ref())
    name = harness.app.config["SESSION_COOKIE_NAME"]
    session = harness.client.get_cookie(name)
    assert session is not None
    with chromium() as browser, serving(harness.app) as base:
        print_document(browser, base, (name, session.value), path)
