"""Idempotency-Key for every POST: a retry with the same key gets the first answer again
and changes nothing. Stored in the database, so it survives a restart; a phone that lost
its connection re-sends its queued scans with their keys.

A retry after a crash finishes the original request: each step's result was stored with
the step's own effect (steplog), so the retry answers those as they were and does only the
rest. A per-key lock (keylock) tells a retry whether the first attempt still runs: it then
waits for it, and replays its answer."""
import hashlib
import json
from functools import wraps

from flask import Response, current_app, request
from sqlalchemy import delete, select

from . import keylock, steplog
from .auth import api_user
from .errors import RequestError, bad_request
from .extensions import db
from .models import IdempotencyRecord, IdempotencyStep

# How long a retry waits for a first attempt that is still running before it is told to
# come back later. Longer than any request should take (a photo decodes in well under 1 s).
WAIT_FOR_FIRST_S = 25
# Answers that say "not now", not "this is the outcome": not kept, so a retry runs again.
NOT_KEPT = {401, 403, 429}


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


def _claim(user_id: int, key: str, fingerprint: str) -> Response | steplog.StepLog:
    """Under the key's lock: the stored answer, or the log to (re)run the request with."""
    record = db.session.get(IdempotencyRecord, (user_id, key))
    if record is None:
        db.session.add(IdempotencyRecord(user_id=user_id, key=key, fingerprint=fingerprint))
        db.session.commit()
        return steplog.StepLog(user_id, key)
    if record.fingerprint != fingerprint:
        db.session.rollback()
        raise RequestError(422, "idempotency_key_reused",
                           "This Idempotency-Key was used for a different request.")
    if record.status_code is not None:
        db.session.rollback()
        return _replay(record)
    # Unfinished, and nobody holds the lock: the first attempt died. Resume it.
    log = steplog.StepLog.load(db.session.connection(), user_id, key)
    db.session.rollback()
    return log


def _store(log: steplog.StepLog, response: Response) -> None:
    db.session.rollback()  # whatever the view left open is not ours to commit
    keyed = (IdempotencyRecord.user_id == log.user_id, IdempotencyRecord.key == log.key)
    retry_later = response.status_code >= 500 or response.status_code in NOT_KEPT or \
        "Retry-After" in response.headers
    if retry_later:
        # Nothing final was said. If no step was done the key is free again; if some were,
        # the record stays unfinished so that a retry resumes after them.
        has_steps = log.has_steps or db.session.scalar(
            select(IdempotencyStep.step).where(IdempotencyStep.user_id == log.user_id,
                                               IdempotencyStep.key == log.key).limit(1))
        if not has_steps:
            db.session.execute(delete(IdempotencyRecord).where(*keyed))
    else:
        record = db.session.get(IdempotencyRecord, (log.user_id, log.key))
        record.status_code = response.status_code
        record.body = response.get_data(as_text=True)
        # The answer now holds every step's result; the per-step rows have done their job.
        db.session.execute(delete(IdempotencyStep).where(
            IdempotencyStep.user_id == log.user_id, IdempotencyStep.key == log.key))
    db.session.commit()


def idempotent(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise bad_request("Idempotency-Key is longer than 200 characters.", "invalid_header")
        user_id = api_user().id
        fingerprint = _fingerprint()
        try:
            wait_s = current_app.config.get("IDEMPOTENCY_WAIT_S", WAIT_FOR_FIRST_S)
            with keylock.held(db.engine, user_id, key, wait_s):
                return _run(view, args, kwargs, user_id, key, fingerprint)
        except keylock.Timeout:
            raise RequestError(409, "idempotency_in_progress",
                               "This scan is still being processed; it will be sent again "
                               "in a moment.", retry_after=2) from None
    return wrapper


def _run(view, args, kwargs, user_id: int, key: str, fingerprint: str) -> Response:
    claimed = _claim(user_id, key, fingerprint)
    if isinstance(claimed, Response):
        return claimed
    token = steplog.activate(claimed)
    try:
        response = _as_response(view(*args, **kwargs))
    except RequestError as exc:
        response = exc.response()
    except Exception:
        db.session.rollback()
        _store(claimed, Response(status=500))
        raise
    finally:
        steplog.deactivate(token)
    _store(claimed, response)
    return response


def _as_response(rv) -> Response:
    return current_app.make_response(rv)
