"""Users, hashed passwords, hashed API tokens, and who may do what."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy import bindparam, delete, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from . import lifecycle
from .errors import RequestError
from .extensions import csrf, db
from .hotpath import Prepared, reading
from .models import ApiToken, LoginFailure, User, utcnow


# Users and tokens are managed here, for the CLI (`flask users ...`, `flask tokens ...`) and
# the admin page (/admin/users) alike. A refusal is a ValueError whose text is a sentence
# either can show as it is; `field` names the input it is about.
MIN_PASSWORD = 6
MAX_NAME = User.__table__.c.name.type.length


class UserError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError(f"A password needs at least {MIN_PASSWORD} characters.", "password")


def create_user(name: str, role: str, password: str) -> User:
    name = (name or "").strip()
    if not name:
        raise UserError("Give the user a name.", "name")
    if len(name) > MAX_NAME or not name.isprintable():
        raise UserError(f"A name is at most {MAX_NAME} letters, digits or signs.", "name")
    if role not in lifecycle.ROLES:
        raise UserError(f"The role must be {', '.join(lifecycle.ROLES)}.", "role")
    _check_password_rules(password)
    if db.session.scalar(select(User.id).where(User.name == name)):
        raise UserError(f"There is already a user named {name}.", "name")
    user = User(name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


_dummy_hash: str | None = None


def _dummy_password_hash() -> str:
    """A hash made the same way as real ones, checked for unknown names so that a login
    takes as long whether or not the name exists."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_hex(16))
    return _dummy_hash


def check_login(name: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.name == name))
    password_hash = user.password_hash if user else _dummy_password_hash()
    good = check_password_hash(password_hash, password)
    if user and user.active and good:
        return user
    return None


# Throttling: failed logins are rows in the database rather than counters in memory, so
# that every gunicorn worker (and every host) counts the same failures; an in-memory
# limiter would give each worker its own allowance.
def _throttle_key(name: str) -> str:
    return name.strip().lower()[:80]


def login_throttled(name: str, address: str) -> bool:
    """Whether this name, or this address, has had too many failed logins lately."""
    config = current_app.config
    since = utcnow() - timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"])
    by_name = db.session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.name == _throttle_key(name), LoginFailure.at >= since))
    if by_name >= config["LOGIN_FAILURES_PER_NAME"]:
        return True
    by_address = db.session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.address == address[:64], LoginFailure.at >= since))
    return by_address >= config["LOGIN_FAILURES_PER_ADDRESS"]


def record_login_failure(name: str, address: str) -> None:
    db.session.add(LoginFailure(name=_throttle_key(name), address=address[:64]))
    db.session.commit()


def forget_login_failures(name: str) -> None:
    """A right password clears the name's count: the owner is not locked out by typos."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.name == _throttle_key(name)))
    db.session.commit()


def end_sessions(user: User) -> None:
    """Every session and remember-me cookie of this user stops working (they carry the
    old generation). Committed by the caller."""
    user.session_generation = (user.session_generation or 0) + 1


def revoke_tokens(user_id: int) -> int:
    result = db.session.execute(update(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked.is_(False)).values(revoked=True))
    return result.rowcount


def set_password(user: User, password: str) -> None:
    """A new password ends the user's sessions and tokens: whoever knew the old one is out."""
    _check_password_rules(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    revoke_tokens(user.id)
    db.session.commit()


def disable_user(user: User) -> None:
    user.active = False
    end_sessions(user)
    # Revoked, not only refused while disabled: enabling the user again revives nothing.
    revoke_tokens(user.id)
    db.session.commit()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """A new API token for the user: the token itself, to show once (only its hash is kept)."""
    token = "sa_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token)))
    db.session.commit()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                              .order_by(ApiToken.id)).all()


def revoke_token(token_id: int) -> ApiToken:
    """Revoke one API token: the next request with it is refused."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise UserError(f"There is no API token {token_id}.")
    token.revoked = True
    db.session.commit()
    return token


@dataclass(frozen=True)
class TokenUser:
    """The caller of a bearer-token request: what authorisation and logging need, read in
    one indexed query (the token's unique hash joined to its user) with no ORM object."""
    id: int
    name: str
    role: str
    is_authenticated = True


# Asked on every API request, so built once. Revoking a token or deactivating a user takes
# effect on the next request: nothing is cached.
_TOKEN_USER = Prepared(select(User.id, User.name, User.role)
                       .join(ApiToken, ApiToken.user_id == User.id)
                       .where(ApiToken.token_hash == bindparam("token_hash"),
                              ApiToken.revoked.is_(False), User.active.is_(True)))


def user_for_token(token: str) -> TokenUser | None:
    with reading(db.engine) as conn:
        row = _TOKEN_USER.run(conn, {"token_hash": _hash_token(token)}).fetchone()
    return TokenUser(*row) if row else None


def api_user() -> User:
    """The caller of an API request: a bearer token, or a logged-in page session.
    A session POST must carry the CSRF token; a bearer token needs none."""
    if "api_user" in g:
        return g.api_user
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise RequestError(401, "unauthorized", "The bearer token is missing, wrong or revoked.")
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()
        user = current_user._get_current_object()
    else:
        raise RequestError(401, "unauthorized",
                           "Log in, or send 'Authorization: Bearer <token>'.")
    g.api_user = user
    return user


def require_role(role: str):
    """Refuse the request (403) unless the API caller has at least `role`."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = api_user()
            if not lifecycle.role_at_least(user.role, role):
                raise RequestError(403, "forbidden",
                                   f"This needs the {role} role; {user.name} is a {user.role}.")
            return view(*args, **kwargs)
        return wrapper
    return decorate
