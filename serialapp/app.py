"""The app factory: config, extensions, blueprints, CLI, error pages."""
from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import config
from .extensions import csrf, db, login_manager, migrate


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    from .jsonsafe import SafeJSONProvider
    app.json = SafeJSONProvider(app)  # a deeply nested body is a 400, not a RecursionError
    from .urls import SerialConverter
    app.url_map.converters["serial"] = SerialConverter
    app.config.update(config.load(app.instance_path))
    if overrides:
        app.config.update(overrides)

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = "Log in to continue."
    csrf.init_app(app)

    from . import models  # noqa: F401  (tables for Alembic)
    from .api import bp as api_bp
    from . import web
    from .cli import register as register_cli
    # The API checks CSRF itself, only for cookie sessions; bearer tokens need none.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    web.register(app)
    from . import health, requestlog
    app.register_blueprint(health.bp)
    requestlog.init_app(app)
    from . import housekeeping, security
    housekeeping.init_app(app)
    security.init_app(app)
    register_cli(app)
    _register_error_pages(app)
    app.before_request(_refuse_nul_characters)
    from .hotpath import release_reads
    app.teardown_request(release_reads)
    return app


def _nul_in(value, where: str) -> str | None:
    """Where in a JSON value a NUL character is, if anywhere."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_in(key, where) or _nul_in(item, f"{where}.{key}" if where else key)
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            found = _nul_in(item, where)
            if found is not None:
                return found
    return None


def _may_hold_nul(body: bytes) -> bool:
    """Whether a JSON body can hold a NUL character once parsed: only as the escape
    \\u0000 or a raw zero byte (which every UTF-16 or UTF-32 body has), so most bodies
    need no walk through their parsed values."""
    return b"\\u0000" in body or b"\x00" in body


def _refuse_nul_characters():
    """No text here may hold a NUL character, and PostgreSQL cannot store one (SQLite can):
    refused at the door, for every page and API call alike, instead of as a database error
    (a 500) wherever the text first reaches a query."""
    from .errors import bad_request
    where = None
    if "\x00" in request.path:
        where = "The address"
    for name, value in [*request.args.items(multi=True), *request.headers.items()]:
        if where is None and ("\x00" in name or "\x00" in value):
            where = f"'{name}'"
    too_long = request.content_length is not None and request.max_content_length is not None \
        and request.content_length > request.max_content_length
    if where is None and too_long:
        pass  # not read here: the view refuses it (413), in its own words, unread
    elif where is None and request.mimetype in ("multipart/form-data",
                                                "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            # A part whose name the multipart parser could not read has None for a name.
            if where is None and ("\x00" in (name or "") or "\x00" in value):
                where = f"'{name}'"
    elif where is None and request.is_json and _may_hold_nul(request.get_data(cache=True)):
        found = _nul_in(request.get_json(silent=True), "")
        if found is not None:
            where = f"'{found}'" if found else "The body"
    if where is not None:
        raise bad_request(f"{where} holds a NUL character (code 0), which no text may hold.",
                          "invalid_field")


def _migrations_dir() -> str:
    from pathlib import Path
    return str(Path(__file__).resolve().parent.parent / "migrations")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets pages read while a scan is written; the busy timeout makes a second writer
    wait its turn instead of failing at once; foreign keys are off by default in SQLite."""
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: in WAL mode every commit syncs the log, so a scan answered 200 survives a
    # power cut (NORMAL may lose the last commits, which the phone already dropped).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _register_error_pages(app: Flask) -> None:
    from flask import jsonify, render_template
    from werkzeug.exceptions import HTTPException

    from .errors import RequestError

    def wants_json() -> bool:
        return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"

    @app.errorhandler(RequestError)
    def _request_error(exc):
        if wants_json():
            return exc.response()
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        if wants_json():
            return jsonify({"error": {"code": exc.name.lower().replace(" ", "_"),
                                      "message": exc.description}}), exc.code
        return render_template("error.html", status=exc.code, message=exc.description), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc):
        # Never a traceback to the user; the log keeps it for us.
        app.logger.exception("unhandled error")
        from . import requestlog
        requestlog.note_error(exc)
        db.session.rollback()
        if wants_json():
            return jsonify({"error": {"code": "internal_error",
                                      "message": "Something went wrong on our side. Send "
                                                 "it again: what was already done stays "
                                                 "done, and nothing is done twice."}}), 500
        return render_template("error.html", status=500,
                               message="Something went wrong on our side. Try again."), 500
