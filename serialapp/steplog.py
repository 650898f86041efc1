"""The per-step record of a request sent with an Idempotency-Key (see models.IdempotencyStep).

The idempotency wrapper opens a StepLog for the request; the service layer asks it, step by
step, whether the step was already done by an earlier attempt (then the stored result is the
answer) and records each new step's result on the step's own connection, inside the step's
own transaction. Without a key there is no log and steps just run.

The request's idempotency record (the claim on its key) is written in the same transaction
as the first steps, not in one of its own: so there is never a record with steps missing,
nor steps without their record. And where the answer is made of the steps' results alone
(the scan actions), the last steps' transaction is held open until the answer is ready, and
the answer is committed with them instead of their step rows (idempotency._store): a scan
then costs one commit."""
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
    done: dict = field(default_factory=dict)  # step index -> result, already committed
    plan: object = None                        # the plan an earlier attempt worked from
    may_hold: bool = False                     # the view's answer is its steps' (see hold)
    held: object = None                        # the last steps' open transaction (hold)
    _new_plan: object = None                   # this attempt's plan, until committed
    _rows: list = field(default_factory=list)  # (index, result) of the open transaction
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
        """The plan to follow: an earlier attempt's, else compute() (kept with the first
        steps; computed once per request, even when its first transaction rolled back)."""
        if self.plan is not None:
            return self.plan
        if self._new_plan is None:
            self._new_plan = compute()
        return self._new_plan

    def record(self, index: int, result: dict) -> None:
        """A step's result, done in the open transaction: written with it (write_rows)."""
        self._rows.append((index, result))

    def write_rows(self, conn: Connection) -> None:
        """Store the open transaction's step results on `conn` just before it commits, with
        the claim on the key (with the first steps) and the plan: never a record with steps
        missing, nor steps without their record."""
        if not self._rows:
            return
        if not self.claimed:
            _CLAIM.run(conn, {"user_id": self.user_id, "key": self.key,
                              "fingerprint": self.fingerprint, "created_at": utcnow()})
        rows = [(index, json.dumps(result)) for index, result in self._rows]
        if self._new_plan is not None and self.plan is None:
            rows.append((PLAN, json.dumps(self._new_plan)))
        _INSERT.run_many(conn, [{"user_id": self.user_id, "key": self.key, "step": index,
                                 "result": result} for index, result in rows])

    def recorded(self) -> None:
        """The open transaction committed: its steps (and the claim, and the plan) are done."""
        if self._rows:
            self.claimed = True
            if self.plan is None:
                self.plan = self._new_plan
        self.done.update(self._rows)
        self._rows = []

    def rolled_back(self) -> None:
        """The open transaction rolled back: none of its steps happened."""
        self._rows = []

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
