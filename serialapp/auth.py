"""Users, hashed passwords, hashed API tokens, and who may do what."""
import hashlib
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import g, request
from flask_login import current_user
from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from . import lifecycle
from .errors import RequestError
from .extensions import csrf, db
from .models import ApiToken, User


def create_user(name: str, role: str, password: str) -> User:
    if role not in lifecycle.ROLES:
        raise ValueError(f"role must be one of {', '.join(lifecycle.ROLES)}")
    if len(password) < 6:
        raise ValueError("password must be at least 6 characters")
    if db.session.scalar(select(User.id).where(User.name == name)):
        raise ValueError(f"user {name} already exists")
    user = User(name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def check_login(name: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.name == name))
    if user and user.active and check_password_hash(user.password_hash, password):
        return user
    return None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    token = "sa_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token)))
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
_TOKEN_USER = (select(User.id, User.name, User.role)
               .join(ApiToken, ApiToken.user_id == User.id)
               .where(ApiToken.token_hash == bindparam("token_hash"),
                      ApiToken.revoked.is_(False), User.active.is_(True)))


def user_for_token(token: str) -> TokenUser | None:
    with db.engine.connect() as conn:
        row = conn.execute(_TOKEN_USER, {"token_hash": _hash_token(token)}).first()
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
