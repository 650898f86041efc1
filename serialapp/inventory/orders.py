"""Pick, unpick and ship: serials onto a sales order and out to its customer."""
from dataclasses import dataclass

from sqlalchemy import case, exists, select, update
from sqlalchemy.engine import Connection

from .. import lifecycle, messages, steplog
from ..errors import refusal, refuse
from ..extensions import db
from ..models import Event, SalesOrder, SalesOrderLine, Serial, utcnow
from ..records.stats import warranty_until
from .base import Actor, Outcome
from .lookups import _BY_ID_SQL, Unit, get_sales_order
from .steps import _bump_line, _next, _ok, _place, _run_steps, _scanned, _serial_steps, _transition


@dataclass(frozen=True)
class OpenOrder:
    id: int
    number: str
    customer_id: int
    lines: dict  # product_id -> (line id, qty)

    def line_for(self, unit: Unit) -> tuple[int, int]:
        if unit.product_id not in self.lines:
            raise refusal("sku_not_on_order", unit.sku, sku=unit.sku, order=self.number)
        return self.lines[unit.product_id]


def _open_order(number) -> OpenOrder:
    so = get_sales_order(number)
    log = steplog.current()
    resuming = log is not None and log.plan is not None
    if so.status == "shipped" and not resuming:  # a resumed ship may have settled it
        raise refuse(409, "order_closed", order=so.number)
    return OpenOrder(so.id, so.number, so.customer_id,
                     {ln.product_id: (ln.id, ln.qty) for ln in so.lines})


def pick(actor: Actor, *, order=None, serials=None, sku=None, decoded=None) -> Outcome:
    so = _open_order(order)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        if unit.status == lifecycle.PICKED and unit.sales_order_id == so.id:
            return _ok(unit, messages.repeat("picked", order=so.number))
        if unit.status == lifecycle.PICKED:
            raise refusal("serial_not_available/picked_elsewhere", unit.sku,
                          other=unit.order_number)
        status = _next(unit, "pick")
        if unit.location_id is not None and not unit.pickable:
            raise refusal("serial_not_available/not_pickable", unit.sku,
                          location=unit.location_code)
        line_id, qty = so.line_for(unit)
        if not _bump_line(conn, SalesOrderLine, line_id, "filled_qty", +1):
            raise refusal("order_line_full", unit.sku, order=so.number, qty=qty, sku=unit.sku)
        return _transition(conn, unit, actor, "pick", status, {"sales_order_id": so.id},
                           sales_order_id=so.id)
    return _serial_steps(texts, sku, outcome, step, last=True,
                         finish=lambda conn: _settle_order(conn, so.id))


def unpick(actor: Actor, *, order=None, location=None, serials=None, sku=None,
           decoded=None) -> Outcome:
    so = _open_order(order)
    to = _place(location)
    outcome = Outcome()
    texts, _ = _scanned(serials, decoded, outcome)

    def step(conn: Connection, unit: Unit) -> dict:
        if unit.sales_order_id != so.id or unit.status != lifecycle.PICKED:
            raise refusal("serial_not_on_order", unit.sku, order=so.number)
        status = _next(unit, "unpick")
        _bump_line(conn, SalesOrderLine, so.line_for(unit)[0], "filled_qty", -1)
        result = _transition(conn, unit, actor, "unpick", status,
                             {"sales_order_id": None, "location_id": to.id}, sales_order_id=so.id)
        return {**result, "location": to.code}  # the page says where it went back to
    return _serial_steps(texts, sku, outcome, step, last=True,
                         finish=lambda conn: _settle_order(conn, so.id))


def ship(actor: Actor, *, order=None, partial=False) -> Outcome:
    so = _open_order(order)
    lines = db.session.scalars(select(SalesOrderLine).where(
        SalesOrderLine.sales_order_id == so.id)).all()
    short = [f"{ln.product.sku}: {ln.filled_qty} of {ln.qty}" for ln in lines
             if ln.filled_qty < ln.qty]
    if short and not partial:
        raise refuse(409, "order_incomplete", order=so.number, short="; ".join(short))

    def compute() -> list:
        picked = db.session.execute(select(Serial.id, Serial.serial).where(
            Serial.sales_order_id == so.id, Serial.status == lifecycle.PICKED)
            .order_by(Serial.id)).all()
        if not picked:
            raise refuse(409, "nothing_to_ship", order=so.number)
        return [list(row) for row in picked]
    picked = steplog.plan(compute)
    # All or nothing: an order (or what is picked of it) leaves whole, or stays as it is.
    return _run_steps(Outcome(), [
        (text, lambda c, sid=serial_id: _ship_one(c, actor, so, _unit_by_id(c, sid)))
        for serial_id, text in picked], whole=True,
        finish=lambda conn: _settle_order(conn, so.id))


def _ship_one(conn: Connection, actor: Actor, so: OpenOrder, unit: Unit) -> dict:
    status = _next(unit, "ship")
    now = utcnow()
    warranty = warranty_until(now, unit.warranty_days)
    # A shipped unit is with its customer, on no shelf of ours (the event keeps the shelf).
    return _transition(conn, unit, actor, "ship", status, {
        "customer_id": so.customer_id, "shipped_at": now, "warranty_until": warranty,
        "location_id": None},
        sales_order_id=so.id, customer_id=so.customer_id)


def _unit_by_id(conn: Connection, serial_id: int) -> Unit:
    return Unit(*_BY_ID_SQL.run(conn, {"serial_id": serial_id}).fetchone())


def _settle_order(conn: Connection, order_id: int) -> None:
    """The order's status in one UPDATE (lifecycle.sales_order_status in SQL), in the
    transaction of the steps that changed it (steps._run_steps `finish`).

    Two pickers on one order must not settle it from what each saw before the other's
    steps committed. On SQLite the transaction holds the write lock, so it sees every
    commit before it. On PostgreSQL the order's row is locked first: a second picker
    waits here until the first commits, and its UPDATE, a new statement, then sees the
    first one's steps (READ COMMITTED takes a snapshot per statement; an UPDATE that
    only waited on the row lock would keep its older one)."""
    if conn.dialect.name != "sqlite":
        # FOR NO KEY UPDATE: each pick's own step already holds the order's row FOR KEY
        # SHARE (the unit's and the event's foreign keys); FOR UPDATE would wait on the
        # other picker's, and that picker on ours: a deadlock.
        conn.execute(select(SalesOrder.id).where(SalesOrder.id == order_id)
                     .with_for_update(key_share=True))
    unfilled = exists().where(SalesOrderLine.sales_order_id == order_id,
                              SalesOrderLine.filled_qty < SalesOrderLine.qty)
    picked_left = exists().where(Serial.sales_order_id == order_id,
                                 Serial.status == lifecycle.PICKED)
    shipped_any = exists().where(Event.sales_order_id == order_id, Event.type == "ship")
    conn.execute(update(SalesOrder).where(SalesOrder.id == order_id).values(status=case(
        (~shipped_any & ~unfilled, lifecycle.ORDER_PICKED),
        (~shipped_any, lifecycle.ORDER_OPEN),
        (~unfilled & ~picked_left, lifecycle.ORDER_SHIPPED),
        else_=lifecycle.ORDER_PARTLY)))
