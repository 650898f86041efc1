"""serial_key fits folded serials

Case folding can make a text longer ("ﬃ" folds to "ffi", at most three characters for
one), so the key of a 64-character serial may be up to 192 characters. SQLite never
enforced the old VARCHAR(100); PostgreSQL refused such a serial with an error.

Revision ID: d4e5a6b7c8d9
Revises: 0dc5798cc733
Create Date: 2026-11-25 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e5a6b7c8d9'
down_revision = '0dc5798cc733'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.alter_column('serial_key', existing_type=sa.String(length=100),
                              type_=sa.String(length=200), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('serials', schema=None) as batch_op:
        batch_op.alter_column('serial_key', existing_type=sa.String(length=200),
                              type_=sa.String(length=100), existing_nullable=False)
