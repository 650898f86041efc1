"""stocktakes and missing

Stocktakes (counts of a location, a product or the site), each serial counted once per
count (who, where, when, how), and the differences a closed count found with how each was
resolved. The serial status `missing` needs no schema change (serials.status is text).

Revision ID: bb70748eada0
Revises: 0936958c53db
Create Date: 2026-11-26 01:16:58.200998

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'bb70748eada0'
down_revision = '0936958c53db'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stocktakes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_stocktakes_closed_by_id_users')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stocktakes_location_id_locations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stocktakes_product_id_products')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stocktakes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktakes'))
    )
    with op.batch_alter_table('stocktakes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stocktakes_status'), ['status'], unique=False)

    op.create_table('stocktake_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stocktake_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=210), nullable=False),
    sa.Column('serial_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=100), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stocktake_scans_location_id_locations')),
    sa.ForeignKeyConstraint(['serial_id'], ['serials.id'], name=op.f('fk_stocktake_scans_serial_id_serials')),
    sa.ForeignKeyConstraint(['stocktake_id'], ['stocktakes.id'], name=op.f('fk_stocktake_scans_stocktake_id_stocktakes')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stocktake_scans_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktake_scans')),
    sa.UniqueConstraint('stocktake_id', 'key', name=op.f('uq_stocktake_scans_stocktake_id_key'))
    )
    op.create_table('stocktake_differences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stocktake_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('serial_id', sa.Integer(), nullable=True),
    sa.Column('scan_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=100), nullable=False),
    sa.Column('recorded_status', sa.String(length=16), nullable=True),
    sa.Column('recorded_location', sa.String(length=64), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stocktake_differences_location_id_locations')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_stocktake_differences_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['scan_id'], ['stocktake_scans.id'], name=op.f('fk_stocktake_differences_scan_id_stocktake_scans')),
    sa.ForeignKeyConstraint(['serial_id'], ['serials.id'], name=op.f('fk_stocktake_differences_serial_id_serials')),
    sa.ForeignKeyConstraint(['stocktake_id'], ['stocktakes.id'], name=op.f('fk_stocktake_differences_stocktake_id_stocktakes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktake_differences'))
    )
    with op.batch_alter_table('stocktake_differences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stocktake_differences_stocktake_id'), ['stocktake_id'], unique=False)



def downgrade():
    with op.batch_alter_table('stocktake_differences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stocktake_differences_stocktake_id'))

    op.drop_table('stocktake_differences')
    op.drop_table('stocktake_scans')
    with op.batch_alter_table('stocktakes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stocktakes_status'))

    op.drop_table('stocktakes')
