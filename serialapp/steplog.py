"""The per-step record of a request sent with an Idempotency-Key (see models.IdempotencyStep).

The idempotency wrapper opens a StepLog for the request; the service layer asks it, step by
step, whether the step was already done by an earlier attempt (then the stored result is the
answer) and records each new step's result on the step's own connection, inside the step's
own transaction. Without a key there is no log and steps just run.

The request's idempotency record (the claim on its key) is written in the same transaction
as the first steps, not in one of its own: so there is never a record with steps missing,
nor steps without their record, and a scan pays one commit rather than two."""
import json
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from .hotpath import Prepared
from .models import IdempotencyRecord, IdempotencyStep, utcnow

PLAN = -1

_current: ContextVar["StepLog | None"] = ContextVar("steplog", default=None)
_INSERT = Prepared(insert(IdempotencyStep).values(
    user_id=bindparam("user_id"), key=bindparam("key"), step=bindparam("step"),
    result=bindparam("result")))
_CLAIM = Prepared(insert(IdempotencyRecord).values(
    user_id=bindparam("user_id"), key=bindparam("key"), fingerprint=bindparam("fingerprint"),
    created_at=bindparam("created_at")))


@dataclass
class StepLog:
    user_id: int
    key: str
    fingerprint: str = ""
    claimed: bool = False                      # its idempotency record is committed
    done: dict = field(default_factory=dict)  # step index -> result, from earlier attempts
    plan: object = None                        # the plan an earlier attempt worked from
    _new_plan: object = None                   # this attempt's plan, until first written
    _claiming: bool = False                    # the claim is in the open transaction
    _plan_written: bool = False                # the plan is in the open transaction
    unfinished: bool = False                   # an unexpected error left steps not done

    @classmethod
    def load(cls, conn: Connection, user_id: int, key: str, fingerprint: str) -> "StepLog":
        log = cls(user_id, key, fingerprint, claimed=True)
        for step, result in conn.execute(select(IdempotencyStep.step, IdempotencyStep.result)
                                         .where(IdempotencyStep.user_id == user_id,
                                                IdempotencyStep.key == key)):
            if step == PLAN:
                log.plan = json.loads(result)
            else:
                log.done[step] = json.loads(result)
        return log

    def settle_plan(self, compute):
        """The plan to follow: an earlier attempt's, else compute() (kept with the first step)."""
        if self.plan is not None:
            return self.plan
        self._new_plan = compute()
        return self._new_plan

    def record(self, conn: Connection, index: int, result: dict) -> None:
        """Store a step's result on `conn`, in the transaction that did the step (and the
        claim on the key, with the first step)."""
        if not self.claimed and not self._claiming:
            _CLAIM.run(conn, {"user_id": self.user_id, "key": self.key,
                              "fingerprint": self.fingerprint, "created_at": utcnow()})
            self._claiming = True
        if self._new_plan is not None and not self._plan_written:
            _INSERT.run(conn, {"user_id": self.user_id, "key": self.key, "step": PLAN,
                               "result": json.dumps(self._new_plan)})
            self._plan_written = True
        _INSERT.run(conn, {"user_id": self.user_id, "key": self.key, "step": index,
                           "result": json.dumps(result)})

    def recorded(self) -> None:
        """The transaction that recorded the latest steps committed."""
        if self._claiming:
            self.claimed, self._claiming = True, False
        if self._plan_written:
            self.plan, self._new_plan, self._plan_written = self._new_plan, None, False

    def rolled_back(self) -> None:
        """The transaction that recorded the latest steps rolled back: none of it happened."""
        self._claiming = self._plan_written = False

    @property
    def has_steps(self) -> bool:
        return bool(self.done) or self.plan is not None


def current() -> StepLog | None:
    return _current.get()


def activate(log: StepLog | None):
    return _current.set(log)


def deactivate(token) -> None:
    _current.reset(token)


def plan(compute):
    """The plan for this request (JSON-able): the stored one on a resumed request, else
    compute(). What a plan holds must not depend on when it is computed: a photo decoded
    again, or an order's picked serials read again after some shipped, would differ."""
    log = current()
    return compute() if log is None else log.settle_plan(compute)
