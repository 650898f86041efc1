"""Reading one field of a request body: present or not, the right type, not too long.
Each refusal names the field (RequestError.field) so a page can show it beside the input."""
from contextvars import ContextVar

from sqlalchemy.exc import IntegrityError

from ..errors import RequestError, bad_request
from ..extensions import db


def text(data: dict, name: str, *, required: bool = False, max_len: int = 200) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad_request(f"Field '{name}' is required.", "missing_field", name)
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise bad_request(f"Field '{name}' must be text.", "invalid_field", name)
    value = str(value).strip()
    if len(value) > max_len:
        raise bad_request(f"Field '{name}' is longer than {max_len} characters.",
                          "invalid_field", name)
    return value


# Upper bounds well inside the 32-bit INTEGER columns (PostgreSQL refuses what does not fit;
# SQLite stores anything) and beyond anything real: a million units on one order line, a
# warranty of a hundred years.
MAX_QTY = 1_000_000
MAX_WARRANTY_DAYS = 36_500


def whole(data: dict, name: str, default: int, minimum: int = 0, maximum: int = MAX_QTY) -> int:
    value = data.get(name, default)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise bad_request(f"Field '{name}' must be a whole number from {minimum} to {maximum}.",
                          "invalid_field", name)
    return value


def flag(data: dict, name: str, default: bool | None) -> bool | None:
    value = data.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise bad_request(f"Field '{name}' must be true or false.", "invalid_field", name)
    return value


def require_object(data) -> dict:
    if not isinstance(data, dict):
        raise bad_request("Send a JSON object.", "malformed")
    return data


def only_known(data: dict, known: set[str]) -> None:
    """An edit naming a field we don't have is a mistake worth saying, not ignoring."""
    unknown = sorted(set(data) - known)
    if unknown:
        raise bad_request(f"Field '{unknown[0]}' cannot be changed here.", "invalid_field",
                          unknown[0])


class _Undo(Exception):
    """Raised inside a savepoint to take back a row that was written only as a check."""


# While set, save() checks a row against the database (constraints included) in a savepoint
# and takes it back: how an import previews its rows with the same rules as the real thing.
checking_only: ContextVar[bool] = ContextVar("checking_only", default=False)


def save(obj, what: str, key: str, field: str = "code"):
    if checking_only.get():
        try:
            with db.session.begin_nested():
                db.session.add(obj)
                db.session.flush()
                raise _Undo()
        except _Undo:  # rolling the savepoint back also takes obj out of the session
            return obj
        except IntegrityError:
            raise RequestError(409, "already_exists", f"{what} '{key}' already exists.",
                               field=field) from None
    db.session.add(obj)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RequestError(409, "already_exists", f"{what} '{key}' already exists.",
                           field=field) from None
    return obj


def commit():
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise RequestError(409, "already_exists", "Another record already has that value.")
