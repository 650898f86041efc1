"""One structured log line per request: method, path, status, duration, user.

JSON on the `serialapp.requests` logger (stderr by default, which gunicorn and systemd
collect), so that a log shipper or `jq` reads it without a parser of our own:

    {"ts": "2025-01-02T10:11:12.345Z", "method": "POST", "path": "/api/move", "status": 200,
     "ms": 6.1, "user": "picker", "ip": "10.0.0.7", "bytes": 96}

and, when something failed unexpectedly (a 500, or a batch answered with steps
`not_done`), `"error"` naming the exception's type.

Timed as WSGI middleware around the whole app, and finished when the server closes the
response body: a streamed CSV export is logged with the time it took to send all of it,
not the time to its first byte. Never the query string's values or any body: a serial is
not a secret, but tokens and passwords must never reach a log."""
import json
import logging
import sys
import time
from datetime import datetime, timezone

from flask import Flask, g

logger = logging.getLogger("serialapp.requests")
USER_KEY = "serialapp.user"
ERROR_KEY = "serialapp.error"


def _ensure_handler() -> None:
    # Our own handler (not the root logger's): under gunicorn the root logger has none,
    # and the line must come out whatever the deployment's logging set-up.
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


class _Body:
    """The response body, passed through; logs the request when the server closes it."""

    def __init__(self, body, done):
        self._body, self._done = body, done

    def __iter__(self):
        return iter(self._body)

    def close(self):
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            self._done()


class RequestLog:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        seen = {"status": None, "bytes": None}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            for name, value in headers:
                if name.lower() == "content-length":
                    seen["bytes"] = int(value)
            return start_response(status, headers, exc_info)

        def done():
            line = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "method": environ.get("REQUEST_METHOD"),
                    "path": environ.get("PATH_INFO"),
                    "status": seen["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": environ.get(USER_KEY),
                    "ip": environ.get("REMOTE_ADDR")}
            if seen["bytes"] is not None:
                line["bytes"] = seen["bytes"]
            if environ.get(ERROR_KEY):
                line["error"] = environ[ERROR_KEY]
            logger.info(json.dumps(line, ensure_ascii=False))

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            seen["status"] = seen["status"] or 500
            done()
            raise
        return _Body(body, done)


def _note_user(response):
    """Name the caller in the WSGI environ for the log line: the API's bearer-token user,
    or the page session's user if this request loaded it (never a lookup of its own)."""
    from flask import request
    user = g.get("api_user") or g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        request.environ[USER_KEY] = user.name
    return response


def note_error(exc: BaseException) -> None:
    """Name an unexpected error in the request's log line (`"error": "OverflowError"`),
    also when the answer is not a 500: a batch that an error stopped half-way answers 200,
    with the steps it stopped at `not_done`. The type only: a message may quote the
    request's data. The traceback goes to the app's log."""
    from flask import has_request_context, request
    if has_request_context():
        names = request.environ.get(ERROR_KEY)
        name = type(exc).__name__
        request.environ[ERROR_KEY] = f"{names}, {name}" if names else name


def init_app(app: Flask) -> None:
    _ensure_handler()
    # Alembic's logging.config.fileConfig (migrations/env.py) disables every logger that
    # exists when it runs: a process that migrated (a test run, `flask db upgrade` then
    # serve) would otherwise lose the request log without a word.
    logger.disabled = False
    app.after_request(_note_user)
    app.wsgi_app = RequestLog(app.wsgi_app)
