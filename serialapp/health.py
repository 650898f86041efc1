"""GET /healthz: for a load balancer or a monitor, with no login. 200 only when this
worker's database answers a query; else 503 with Retry-After, so that a balancer takes the
host out of rotation instead of sending scans that would fail."""
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        db.session.rollback()  # end the read transaction: a probe must hold nothing open
    except Exception as exc:  # any failure to reach the database is "unhealthy", not a 500
        db.session.rollback()
        current_app.logger.warning("healthz: database unreachable: %s", exc)
        response = jsonify({"status": "unavailable", "database": "unreachable"})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        response.headers["Cache-Control"] = "no-store"
        return response
    response = jsonify({"status": "ok", "database": "ok",
                        "database_ms": round((time.perf_counter() - started) * 1000, 1)})
    response.headers["Cache-Control"] = "no-store"
    return response
