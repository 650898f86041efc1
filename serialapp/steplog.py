"""The per-step record of a request sent with an Idempotency-Key (see models.IdempotencyStep).

The idempotency wrapper opens a StepLog for the request; the service layer asks it, step by
step, whether the step was already done by an earlier attempt (then the stored result is the
answer) and records each new step's result on the step's own connection, inside the step's
own transaction. Without a key there is no log and steps just run."""
import json
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from .hotpath import Prepared
from .models import IdempotencyStep

PLAN = -1

_current: ContextVar["StepLog | None"] = ContextVar("steplog", default=None)
_INSERT = Prepared(insert(IdempotencyStep).values(
    user_id=bindparam("user_id"), key=bindparam("key"), step=bindparam("step"),
    result=bindparam("result")))


@dataclass
class StepLog:
    user_id: int
    key: str
    done: dict = field(default_factory=dict)  # step index -> result, from earlier attempts
    plan: object = None                        # the plan an earlier attempt worked from
    _new_plan: object = None                   # this attempt's plan, until first written

    @classmethod
    def load(cls, conn: Connection, user_id: int, key: str) -> "StepLog":
        log = cls(user_id, key)
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
        """Store a step's result on `conn`, in the transaction that did the step."""
        rows = [{"user_id": self.user_id, "key": self.key, "step": index,
                 "result": json.dumps(result)}]
        if self._new_plan is not None:
            rows.append({"user_id": self.user_id, "key": self.key, "step": PLAN,
                         "result": json.dumps(self._new_plan)})
        for row in rows:
            _INSERT.run(conn, row)

    def recorded(self, index: int) -> None:
        """The transaction that recorded step `index` committed."""
        if self._new_plan is not None:
            self.plan, self._new_plan = self._new_plan, None

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
