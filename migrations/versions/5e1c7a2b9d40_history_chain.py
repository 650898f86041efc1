"""history chain

Each serial's events become a hash chain (serialapp/chain.py): events get `hash` (over the
event's fields, its serial's id, product and text, and the previous event's hash) and
`prev` (the start of that previous hash); serials get `history_head`, the hash of their
last event. Existing events are chained here, serial by serial in event-id order, as they
stand: the chain vouches for the history from this upgrade on, not for what was edited
before it.

Revision ID: 5e1c7a2b9d40
Revises: 0936958c53db
Create Date: 2026-11-26 01:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from serialapp import chain


# revision identifiers, used by Alembic.
revision = '5e1c7a2b9d40'
down_revision = '0936958c53db'
branch_labels = None
depends_on = None

# Serials per round of the backfill: their events are read, hashed and written back, so
# memory stays bounded at any size of history.
BATCH = 2000


def _backfill(conn) -> int:
    serials = sa.table('serials', sa.column('id', sa.Integer), sa.column('product_id', sa.Integer),
                       sa.column('serial', sa.String), sa.column('history_head', sa.String))
    events = sa.table(
        'events', *(sa.column(name, sa.Integer) for name in (
            'id', 'serial_id', 'from_location_id', 'to_location_id', 'purchase_order_id',
            'sales_order_id', 'customer_id', 'user_id')),
        *(sa.column(name, sa.String) for name in (
            'type', 'from_status', 'to_status', 'source', 'note', 'hash', 'prev')),
        # Read as the driver gives them, as verify-history reads them (SQLite: text, 0/1).
        sa.column('at'), sa.column('warranty_return'))
    names = [name for name in chain.FIELDS if name not in ('product_id', 'serial')]
    set_event = events.update().where(events.c.id == sa.bindparam('_id')).values(
        hash=sa.bindparam('_hash'), prev=sa.bindparam('_prev'))
    set_head = serials.update().where(serials.c.id == sa.bindparam('_id')).values(
        history_head=sa.bindparam('_head'))
    after, done = 0, 0
    while True:
        batch = conn.execute(sa.select(serials.c.id, serials.c.product_id, serials.c.serial)
                             .where(serials.c.id > after).order_by(serials.c.id)
                             .limit(BATCH)).all()
        if not batch:
            return done
        identity = {sid: (pid, text) for sid, pid, text in batch}
        rows = conn.execute(sa.select(events.c.id, *(events.c[name] for name in names))
                            .where(events.c.serial_id.between(batch[0][0], batch[-1][0]))
                            .order_by(events.c.serial_id, events.c.id)).all()
        heads, event_updates = {}, []
        for row in rows:
            event_id, values = row[0], dict(zip(names, row[1:]))
            if values['serial_id'] not in identity:
                continue  # an event of no serial: left unchained, verify-history names it
            product_id, text = identity[values['serial_id']]
            prev = heads.get(values['serial_id'])
            head = chain.event_hash(prev, product_id=product_id, serial=text, **values)
            heads[values['serial_id']] = head
            event_updates.append({'_id': event_id, '_hash': head, '_prev': chain.link(prev)})
        if event_updates:
            conn.execute(set_event, event_updates)
            conn.execute(set_head, [{'_id': sid, '_head': head} for sid, head in heads.items()])
        done += len(event_updates)
        after = batch[-1][0]


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('prev', sa.String(length=16), nullable=True))
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history_head', sa.String(length=64), nullable=True))
    done = _backfill(op.get_bind())
    if done:
        print(f"serialapp migration 5e1c7a2b9d40: chained {done} existing events.", flush=True)


def downgrade():
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.drop_column('history_head')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('prev')
        batch_op.drop_column('hash')
