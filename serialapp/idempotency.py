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

from contextlib import contextmanager, nullcontext

from flask import Response, current_app, request
from sqlalchemy import bindparam, delete, insert, select, update

from . import keylock, requestlog, steplog
from .auth import api_user
from .errors import RequestError, bad_request
from .extensions import db, session_in_use
from .hotpath import Prepared, connection_to_write, on_driver, reading
from .models import IdempotencyRecord, IdempotencyStep, utcnow

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


def _replay(status_code: int, body: str) -> Response:
    response = Response(body, status=status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


_RECORD = (IdempotencyRecord.user_id == bindparam("k_user"),
           IdempotencyRecord.key == bindparam("k_key"))
_STEPS = (IdempotencyStep.user_id == bindparam("k_user"), IdempotencyStep.key == bindparam("k_key"))
_ANSWER = Prepared(insert(IdempotencyRecord).values(
    user_id=bindparam("user_id"), key=bindparam("key"), fingerprint=bindparam("fingerprint"),
    created_at=bindparam("created_at"), status_code=bindparam("status_code"),
    body=bindparam("body")))
_READ = Prepared(select(IdempotencyRecord.fingerprint, IdempotencyRecord.status_code,
                        IdempotencyRecord.body).where(*_RECORD))


def _claim(user_id: int, key: str, fingerprint: str, on=None) -> Response | steplog.StepLog:
    """Under the key's lock: the stored answer, or the log to (re)run the request with.
    Only reads (on the lock's own connection, `on`, if it has one): a new key's record is
    written with the request's first step (steplog), or with its answer, so that claiming
    costs no commit of its own."""
    with nullcontext(on) if on is not None else reading(db.engine) as conn:
        row = _READ.run(conn, {"k_user": user_id, "k_key": key}).fetchone()
        if row is None:
            return steplog.StepLog(user_id, key, fingerprint)
        stored_fingerprint, status_code, body = row
        if stored_fingerprint != fingerprint:
            raise RequestError(422, "idempotency_key_reused",
                               "This Idempotency-Key was used for a different request.")
        if status_code is not None:
            return _replay(status_code, body)
        # Unfinished, and nobody holds the lock: the first attempt died. Resume it.
        return steplog.StepLog.load(conn, user_id, key, fingerprint)


@contextmanager
def _bookkeeping_transaction(conn, durable: bool):
    """A transaction on `conn`; with durable=False, committed without waiting for the disk.

    The final answer of a request whose steps are all committed (each step's result is
    stored with it) only compacts what is already durable: were it lost in a power cut, a
    retry would find the unfinished record and its steps and answer from them, as after a
    crash. So it need not pay a second fsync per scan. The serial's change, its event and
    its step result stay synchronous=FULL (SQLite) / synchronous_commit=on (PostgreSQL)."""
    sqlite = conn.dialect.name == "sqlite"
    if not durable and sqlite:
        on_driver(conn, "PRAGMA synchronous=NORMAL")
    try:
        with conn.begin():
            if not durable and not sqlite:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield
    finally:
        if not durable and sqlite:
            on_driver(conn, "PRAGMA synchronous=FULL")


class _HeldLost(Exception):
    """The held last steps' commit failed after their answer was made: none of them
    happened, and the answer must be made again."""


def _final(response: Response) -> bool:
    """Whether `response` is the request's outcome, kept and replayed to retries."""
    return not (response.status_code >= 500 or response.status_code in NOT_KEPT
                or "Retry-After" in response.headers)


def _write_answer(conn, log: steplog.StepLog, response: Response) -> None:
    """The request's final answer on `conn`, in the open transaction."""
    keys = {"k_user": log.user_id, "k_key": log.key}
    answer = {"status_code": response.status_code, "body": response.get_data(as_text=True)}
    if log.claimed:
        conn.execute(update(IdempotencyRecord).where(*_RECORD).values(
            status_code=bindparam("k_status"), body=bindparam("k_body")),
            {**keys, "k_status": answer["status_code"], "k_body": answer["body"]})
        # The answer now holds every step's result; the step rows have done their job.
        conn.execute(delete(IdempotencyStep).where(*_STEPS), keys)
    else:
        _ANSWER.run(conn, {"user_id": log.user_id, "key": log.key,
                           "fingerprint": log.fingerprint, "created_at": utcnow(), **answer})


def _store(log: steplog.StepLog, response: Response) -> None:
    final = _final(response) and not log.unfinished
    held, log.held = log.held, None
    if held is not None:
        # The last steps are still open: the answer is committed with them, in their one
        # durable commit (instead of their step rows, which it holds). An answer that is
        # not final commits them with their rows, as any group, for a retry to resume.
        try:
            held.commit(write=(lambda conn: _write_answer(conn, log, response)) if final
                        else None)
        except Exception as exc:
            requestlog.note_error(exc)
            raise _HeldLost() from exc
        finally:
            held.close()
            if session_in_use():  # whatever the view left open is not ours to commit
                db.session.rollback()
        return
    if session_in_use():
        db.session.rollback()
    if not final:
        # Nothing final was said (or, unfinished, an unexpected error left some steps
        # `not_done`). If no step was committed the key is free again (no record was
        # written); if some were, the record stays unfinished so that a retry resumes
        # after them.
        return
    with keylock.sqlite_writer(db.engine), connection_to_write(db.engine) as conn:
        # Durable unless committed steps already hold the answer (see above).
        with _bookkeeping_transaction(conn, durable=not log.claimed):
            _write_answer(conn, log, response)


def idempotent(view=None, *, answer_is_steps: bool = False):
    """Make a POST view idempotent by its Idempotency-Key. `answer_is_steps`: the view's
    answer is made of its service's step results alone, and the service writes nothing
    after its last steps (steps._run_steps `last`): the answer is then committed in the
    last steps' own transaction, one commit per scan."""
    if view is None:
        return lambda v: idempotent(v, answer_is_steps=answer_is_steps)

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
            with keylock.held(db.engine, user_id, key, wait_s) as lock_conn:
                return _run(view, args, kwargs, user_id, key, fingerprint, answer_is_steps,
                            lock_conn)
        except keylock.Timeout:
            raise RequestError(409, "idempotency_in_progress",
                               "This scan is still being processed; it will be sent again "
                               "in a moment.", retry_after=2) from None
    return wrapper


def _run(view, args, kwargs, user_id: int, key: str, fingerprint: str,
         answer_is_steps: bool, lock_conn) -> Response:
    claimed = _claim(user_id, key, fingerprint, lock_conn)
    if isinstance(claimed, Response):
        return claimed
    try:
        try:
            return _attempt(view, args, kwargs, claimed, hold=answer_is_steps)
        except _HeldLost:
            # The last steps' commit failed once their answer was made, so none of them
            # happened: run the view again, without holding. The steps committed before
            # answer as done (the log has them); the rest are done again, or, if their
            # commit fails again, answer not_done.
            db.session.rollback()
            for name in request.files:
                for upload in request.files.getlist(name):
                    upload.stream.seek(0)
            return _attempt(view, args, kwargs, claimed, hold=False)
    finally:
        if claimed.held is not None:  # a view stopped by something no handler catches
            held, claimed.held = claimed.held, None
            held.close()


def _attempt(view, args, kwargs, log: steplog.StepLog, hold: bool) -> Response:
    log.may_hold = hold
    token = steplog.activate(log)
    try:
        response = _as_response(view(*args, **kwargs))
    except RequestError as exc:
        response = exc.response()
    except Exception:
        db.session.rollback()
        try:
            _store(log, Response(status=500))  # the held steps are kept, with their rows
        except _HeldLost:
            pass  # they are not: the error below says the request failed
        raise
    finally:
        steplog.deactivate(token)
    _store(log, response)
    return response


def _as_response(rv) -> Response:
    return current_app.make_response(rv)
