"""indexes for a million serials

Revision ID: 7963c112e019
Revises: 5e1c7a2b9d40
Create Date: 2026-11-26 01:25:00

Found with EXPLAIN QUERY PLAN / EXPLAIN on bench/scale.py's shop (1,000,000 serials,
3,000,000 events; docs/benchmarks.md):

- (product_id, status, location_id) replaces (product_id, status): the product page's
  stock per status and per location is one pass over the index alone, not a row read
  per unit in stock (517 ms at 300,000 units of one product);
- (status, sales_order_id): home's counts, the ship list and the unpick list find the
  few picked units instead of reading every serial;
- (product_id, id): a product's serials a page at a time, and the CSV export's chunks,
  in id order without sorting all of the product's units first;
- serial_counts: units per product and status, kept by triggers on serials (so by every
  writer: a transition, a receipt, an import), so home's "in stock" and a product's
  counts per status are a few rows, not a count of a million (home took 325 ms). Only a
  change of status touches it: a move does not.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7963c112e019'
down_revision = '5e1c7a2b9d40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_serials_product_status_location', 'serials',
                    ['product_id', 'status', 'location_id'], unique=False)
    op.drop_index('ix_serials_product_status', table_name='serials')
    op.create_index('ix_serials_status_sales_order', 'serials', ['status', 'sales_order_id'],
                    unique=False)
    op.create_index('ix_serials_product_id_id', 'serials', ['product_id', 'id'], unique=False)

    op.create_table(
        'serial_counts',
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                                name=op.f('fk_serial_counts_product_id_products')),
        sa.PrimaryKeyConstraint('product_id', 'status', name=op.f('pk_serial_counts')))
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    op.execute("INSERT INTO serial_counts (product_id, status, n) "
               "SELECT product_id, status, count(*) FROM serials GROUP BY product_id, status")


# A unit's status leaving (-1) and arriving (+1). Triggers, not application code, so that
# every writer of serials keeps the counts, in the same transaction as its write.
# NB on SQLite: a batch_alter_table of serials rebuilds the table without its triggers;
# tests/integration/test_migrations.py checks they are there at the head revision.
_ADD = ("INSERT INTO serial_counts (product_id, status, n) VALUES ({p}, {s}, 0) "
        "ON CONFLICT (product_id, status) DO NOTHING; "
        "UPDATE serial_counts SET n = n + {d} WHERE product_id = {p} AND status = {s};")
TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER serial_counts_insert AFTER INSERT ON serials BEGIN "
        + _ADD.format(p="NEW.product_id", s="NEW.status", d=1) + " END",
        "CREATE TRIGGER serial_counts_update AFTER UPDATE OF status, product_id ON serials "
        "WHEN OLD.status IS NOT NEW.status OR OLD.product_id IS NOT NEW.product_id BEGIN "
        + _ADD.format(p="OLD.product_id", s="OLD.status", d=-1) + " "
        + _ADD.format(p="NEW.product_id", s="NEW.status", d=1) + " END",
        "CREATE TRIGGER serial_counts_delete AFTER DELETE ON serials BEGIN "
        + _ADD.format(p="OLD.product_id", s="OLD.status", d=-1) + " END",
    ],
    "postgresql": [
        "CREATE FUNCTION serial_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
        + _ADD.format(p="OLD.product_id", s="OLD.status", d=-1) + " END IF; "
        "IF TG_OP IN ('UPDATE', 'INSERT') THEN "
        + _ADD.format(p="NEW.product_id", s="NEW.status", d=1) + " END IF; "
        "RETURN NULL; END $$",
        "CREATE TRIGGER serial_counts_insert AFTER INSERT OR DELETE ON serials "
        "FOR EACH ROW EXECUTE FUNCTION serial_counts_keep()",
        "CREATE TRIGGER serial_counts_update AFTER UPDATE OF status, product_id ON serials "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
        "OR OLD.product_id IS DISTINCT FROM NEW.product_id) "
        "EXECUTE FUNCTION serial_counts_keep()",
    ],
}


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER serial_counts_update ON serials")
        op.execute("DROP TRIGGER serial_counts_insert ON serials")
        op.execute("DROP FUNCTION serial_counts_keep()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER serial_counts_{name}")
    op.drop_table('serial_counts')
    op.drop_index('ix_serials_product_id_id', table_name='serials')
    op.drop_index('ix_serials_status_sales_order', table_name='serials')
    op.create_index('ix_serials_product_status', 'serials', ['product_id', 'status'],
                    unique=False)
    op.drop_index('ix_serials_product_status_location', table_name='serials')
