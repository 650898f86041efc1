"""serial canonical form and case rule

Serials get `serial_key` (what uniqueness and lookups compare: case-folded unless the
product's serials are case-sensitive), and products get `serials_case_sensitive`, on for
GS1 products. No serial's text is changed. Every existing row that breaks the serial rules
(serials.canonical) is named in the output; where two serials of a product differ only in
letter case, that product is made case-sensitive, and that is named too.

Revision ID: c1de5ee1efc7
Revises: 7a8b06321c50
Create Date: 2026-11-25 22:45:11.870669

"""
import unicodedata

from alembic import op
import sqlalchemy as sa

from serialapp import serials as rules


# revision identifiers, used by Alembic.
revision = 'c1de5ee1efc7'
down_revision = '7a8b06321c50'
branch_labels = None
depends_on = None


def _say(message: str) -> None:
    print(f"serialapp migration c1de5ee1efc7: {message}", flush=True)


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serials_case_sensitive', sa.Boolean(), server_default='0', nullable=False))
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serial_key', sa.String(length=100), nullable=True))

    conn = op.get_bind()
    products = sa.table('products', sa.column('id'), sa.column('sku'), sa.column('gtin'),
                        sa.column('serial_pattern'), sa.column('serials_case_sensitive'))
    serials = sa.table('serials', sa.column('id'), sa.column('product_id'), sa.column('serial'),
                       sa.column('serial_key'))
    sku = {}
    sensitive = set()
    for pid, code, gtin, pattern in conn.execute(sa.select(
            products.c.id, products.c.sku, products.c.gtin, products.c.serial_pattern)):
        sku[pid] = code
        if rules.default_case_sensitive(gtin, pattern):
            sensitive.add(pid)

    rows = conn.execute(sa.select(serials.c.id, serials.c.product_id, serials.c.serial)
                        .order_by(serials.c.id)).all()
    # Serials that differ only in case, within a case-insensitive product, are two units
    # already: keep them apart by making that product case-sensitive, and say so.
    seen = {}
    for sid, pid, text in rows:
        if pid in sensitive:
            continue
        folded = unicodedata.normalize("NFC", text).casefold()
        if (pid, folded) in seen and seen[(pid, folded)] != text:
            sensitive.add(pid)
            _say(f"product {sku[pid]} has serials that differ only in letter case "
                 f"({seen[(pid, folded)]!r} and {text!r}); its serials are now case-sensitive.")
        seen.setdefault((pid, folded), text)
    if sensitive:
        conn.execute(products.update().where(products.c.id.in_(sorted(sensitive)))
                     .values(serials_case_sensitive=True))

    keys, updates = set(), []
    for sid, pid, text in rows:
        try:
            if rules.canonical(text) != text:
                _say(f"serial id {sid} {text[:80]!r} of {sku[pid]} is not in canonical form "
                     "(Unicode NFC, trimmed); left as it is, found by its canonical form.")
        except rules.SerialTextError as exc:
            _say(f"serial id {sid} {text[:80]!r} of {sku[pid]} breaks the serial rules, left "
                 f"as it is: {exc}")
        key = rules.key(unicodedata.normalize("NFC", text).strip(), pid in sensitive)
        if (pid, key) in keys:  # the same text in two Unicode forms: keep both reachable
            key = text
        keys.add((pid, key))
        updates.append({"sid": sid, "key": key[:200]})
    if updates:
        conn.execute(serials.update().where(serials.c.id == sa.bindparam("sid"))
                     .values(serial_key=sa.bindparam("key")), updates)

    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.alter_column('serial_key', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_serials_product_id_serial'), type_='unique')
        batch_op.create_index(batch_op.f('ix_serials_serial_key'), ['serial_key'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_serials_product_id_serial_key'), ['product_id', 'serial_key'])


def downgrade():
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_serials_product_id_serial_key'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_serials_serial_key'))
        batch_op.create_unique_constraint(batch_op.f('uq_serials_product_id_serial'), ['product_id', 'serial'])
        batch_op.drop_column('serial_key')

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('serials_case_sensitive')
