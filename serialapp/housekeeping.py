"""Deleting what is no longer needed: idempotency records (with their steps) older than a
retry could ever be, and old failed-login rows. Run by `flask --app app purge` and, so a
shop that never schedules it still stays small, now and then after a request."""
import random
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import delete, exists

from .extensions import db
from .models import IdempotencyRecord, IdempotencyStep, LoginFailure, utcnow

# A phone's outbox retries within hours or days; a month is far past any real retry.
KEEP_DAYS = 30


def purge_old(days: int = KEEP_DAYS) -> dict:
    """Delete, in one transaction, what is older than `days`: the steps first (they have no
    date of their own; they go with their record), then the records."""
    cutoff = utcnow() - timedelta(days=days)
    old_record = exists().where(IdempotencyRecord.user_id == IdempotencyStep.user_id,
                                IdempotencyRecord.key == IdempotencyStep.key,
                                IdempotencyRecord.created_at < cutoff)
    steps = db.session.execute(delete(IdempotencyStep).where(old_record)).rowcount
    records = db.session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < cutoff)).rowcount
    # Failed logins matter only for the throttle's window (minutes); a day is plenty.
    failures = db.session.execute(delete(LoginFailure).where(
        LoginFailure.at < utcnow() - timedelta(days=1))).rowcount
    db.session.commit()
    return {"records": records, "steps": steps, "login_failures": failures}


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _purge_now_and_then(_exc):
        every = current_app.config.get("PURGE_EVERY_REQUESTS", 1000)
        if not every or random.randrange(every) != 0:
            return
        try:
            purge_old()
        except Exception:  # housekeeping must never spoil a request; the CLI reports errors
            db.session.rollback()
            current_app.logger.exception("purging old idempotency records failed")
