"""Configuration from the environment, with safe defaults for a single shop."""
import os
import secrets
from datetime import timedelta
from pathlib import Path


def write_once(path: Path, make) -> str:
    """The text of the file at `path`, created owner-only (0600) with `make()` if missing.
    Several workers may start at once: each writes a whole file of its own, then links it
    to the shared name. A link never replaces an existing file, so the first one wins and
    nobody can read a half-written one; the others use the winner's."""
    if not path.exists():
        mine = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as file:
                file.write(make())
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(mine, path)
            except FileExistsError:
                pass
        finally:
            mine.unlink(missing_ok=True)
    return path.read_text().strip()


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    return write_once(instance / "secret_key", lambda: secrets.token_hex(32))


def _private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only, before SQLite creates it
    with the umask's (often world-readable) mode; its -wal and -shm files copy the mode."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return
    path = Path(url[len(prefix):].split("?")[0])
    if path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # an existing database keeps the mode its owner gave it


def database_url(url: str) -> str:
    """The SQLAlchemy URL for a DATABASE_URL as people paste it. `postgres://` (Heroku and
    others) and `postgresql://` (libpq, psql) name no driver, and SQLAlchemy would pick
    psycopg2, which is not installed: both mean psycopg 3 here. A URL naming its driver
    (`postgresql+psycopg://`, `sqlite:///...`) is used as it is."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance / 'serialapp.db'}"
    return database_url(url)


def load(instance_path: str) -> dict:
    instance = Path(instance_path)
    if not instance.exists():
        # Owner only: it holds the secret key and, by default, the database.
        instance.mkdir(parents=True, mode=0o700, exist_ok=True)
        instance.chmod(0o700)  # mkdir's mode is reduced by the umask
    url = _database_url(instance)
    _private_sqlite_file(url)
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # A 12 MP phone photo is 3-8 MB; several in one request stay under this.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "40")) * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # How long "remember me" keeps a phone logged in.
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(os.environ.get("REMEMBER_DAYS", "30"))),
        # Failed logins allowed in LOGIN_THROTTLE_MINUTES, per name and per address (an
        # address may be a whole shop behind one router, so it gets more).
        "LOGIN_THROTTLE_MINUTES": int(os.environ.get("LOGIN_THROTTLE_MINUTES", "15")),
        "LOGIN_FAILURES_PER_NAME": int(os.environ.get("LOGIN_FAILURES_PER_NAME", "5")),
        "LOGIN_FAILURES_PER_ADDRESS": int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "30")),
        "WTF_CSRF_TIME_LIMIT": None,  # a picker's shift outlasts the default hour
        # How many reverse proxies (nginx, Caddy) stand in front and set X-Forwarded-*;
        # 0 trusts none (the app faces clients directly).
        "TRUST_PROXY": int(os.environ.get("TRUST_PROXY", "0")),
        # Old idempotency records are purged after about one request in this many (0: never;
        # `flask --app app purge` does it on demand).
        "PURGE_EVERY_REQUESTS": int(os.environ.get("PURGE_EVERY_REQUESTS", "1000")),
        # The key that signs history checkpoints and the last checkpoint (history.py): files,
        # never in the database, so whoever can edit the database cannot forge them.
        "HISTORY_KEY_FILE": os.environ.get("HISTORY_KEY_FILE") or str(instance / "history_key"),
        "HISTORY_CHECKPOINT_FILE": os.environ.get("HISTORY_CHECKPOINT_FILE")
        or str(instance / "history_checkpoint"),
        "DECODE_BUDGET_MS": float(os.environ.get("DECODE_BUDGET_MS", "400")),
        "PAGE_SIZE": 100,
        # The shop's clock for pages (times are stored in UTC): an IANA name, e.g. Europe/Oslo.
        "SHOP_TIMEZONE": os.environ.get("SHOP_TIMEZONE", "UTC"),
    }
