"""Idempotency-Key for every POST: a retry with the same key gets the first answer again
and changes nothing. Stored in the database, so it survives a restart; a phone that lost
its connection re-sends its queued scans with their keys."""
import hashlib
import json
from datetime import timedelta
from functools import wraps

from flask import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .auth import api_user
from .errors import RequestError, bad_request
from .extensions import db
from .models import IdempotencyRecord, utcnow

# A record still "in progress" after this long belongs to a request that died mid-way.
ABANDONED_AFTER = timedelta(minutes=2)
NOT_KEPT = {401, 403, 409, 429}  # answers that say "not now", not "this is the outcome"


def _fingerprint() -> str:
    """What the request asked for, independent of JSON spacing or multipart boundaries."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.is_json:
        body = request.get_json(silent=True)
        digest.update(json.dumps(body, sort_keys=True).encode() if body is not None
                      else request.get_data())
    else:
        for name in sorted(request.form):
            digest.update(f"{name}={request.form.getlist(name)}\n".encode())
        for name in sorted(request.files):
            for upload in request.files.getlist(name):
                digest.update(hashlib.sha256(upload.stream.read()).digest())
                upload.stream.seek(0)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(user_id: int, key: str, fingerprint: str) -> Response | None:
    """Insert the in-progress record, or answer from the existing one."""
    db.session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint))
    try:
        db.session.commit()
        return None
    except IntegrityError:
        db.session.rollback()
    record = db.session.get(IdempotencyRecord, (user_id, key))
    if record is None:  # removed between our insert and read: try once more
        return _claim(user_id, key, fingerprint)
    if record.fingerprint != fingerprint:
        raise RequestError(422, "idempotency_key_reused",
                           "This Idempotency-Key was used for a different request.")
    if record.status_code is not None:
        return _replay(record)
    if utcnow() - record.created_at < ABANDONED_AFTER:
        raise RequestError(409, "idempotency_in_progress",
                           "The first request with this Idempotency-Key is still running; "
                           "retry in a moment.")
    record.created_at = utcnow()
    db.session.commit()
    return None


def _store(user_id: int, key: str, response: Response) -> None:
    db.session.rollback()  # whatever the view left open is not ours to commit
    if response.status_code >= 500 or response.status_code in NOT_KEPT:
        db.session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key))
    else:
        record = db.session.get(IdempotencyRecord, (user_id, key))
        record.status_code = response.status_code
        record.body = response.get_data(as_text=True)
    db.session.commit()


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise bad_request("Idempotency-Key is longer than 200 characters.", "invalid_header")
        user = api_user()
        user_id = user.id
        replay = _claim(user_id, key, _fingerprint())
        if replay is not None:
            return replay
        try:
            response = _as_response(view(*args, **kwargs))
        except RequestError as exc:
            response = _as_response((exc.as_dict(), exc.status))
        except Exception:
            db.session.rollback()
            _store(user_id, key, Response(status=500))
            raise
        _store(user_id, key, response)
        return response
    return wrapper


def _as_response(rv) -> Response:
    from flask import current_app
    return current_app.make_response(rv)
