"""``python -m portal_access demo --serve``: the example portal, running, on this machine.

It starts ``examples/flask_portal`` (Northwind Facility Services' customer portal) on a
fresh SQLite database with the sandbox gateway, and prints its URL, the staff password
and the sign-up form. The example ships with the source tree, not with the package:
run it from a checkout, with ``pip install -e '.[sql,flask]'``.
"""

from __future__ import annotations

import importlib.util
import secrets
import signal
import sys
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["EXAMPLE", "serve"]

#: Where the example app lives in a source checkout.
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask_portal"


class _Later:
    """A WSGI app filled in once the server knows its port (the app needs its URL)."""

    def __init__(self) -> None:
        self.app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


def _example() -> ModuleType:
    """Import ``examples/flask_portal`` as the package ``flask_portal``."""
    if not (EXAMPLE / "app.py").exists():
        raise FileNotFoundError(
            f"the example app is not at {EXAMPLE}: it ships with the source repository; "
            "run the demo from a checkout"
        )
    spec = importlib.util.spec_from_file_location(
        "flask_portal", EXAMPLE / "__init__.py", submodule_search_locations=[str(EXAMPLE)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {EXAMPLE}")
    package = importlib.util.module_from_spec(spec)
    sys.modules["flask_portal"] = package
    spec.loader.exec_module(package)
    return importlib.import_module("flask_portal.app")


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(*, host: str, port: int, directory: Path, out: TextIO) -> int:
    """Serve the example until interrupted (Ctrl+C or SIGTERM); the exit status."""
    try:
        from werkzeug.serving import make_server  # noqa: PLC0415 - optional dependency

        example = _example()
    except ImportError as exc:
        out.write(
            f"demo --serve needs Flask and SQLAlchemy: pip install -e '.[sql,flask]' ({exc})\n"
        )
        return 2
    except FileNotFoundError as exc:
        out.write(f"demo --serve: {exc}\n")
        return 2
    later = _Later()
    server = make_server(host, port, later, threaded=True)
    url = f"http://{host}:{server.server_port}"
    password = secrets.token_urlsafe(9)
    later.app = example.create_app(
        {
            "PORTAL_URL": url,
            "PORTAL_DATABASE": str(directory / "portal.db"),
            "STAFF_PASSWORD": password,
            "SECRET_KEY": secrets.token_hex(32),
        }
    )
    out.write(
        f"portal-access demo: Northwind's customer portal is running at {url}/portal/\n"
        f"  sign-up form:  {url}/portal/join/{example.STARTER_OFFER}\n"
        f"  staff pages:   {url}/staff/  (password: {password})\n"
        "  payments go through the sandbox; press Ctrl+C to stop.\n"
    )
    out.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()  # returns on Ctrl+C (werkzeug catches KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    out.write("stopped.\n")
    return 0
