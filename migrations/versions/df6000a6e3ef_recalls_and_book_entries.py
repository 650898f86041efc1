"""recalls and book entries

Saved recalls (scope, who, when) and the bound book's corrections and theft/loss details
(append-only; the book's original entries are the events); events.warranty_return marks
a return of a unit still in warranty.

Revision ID: df6000a6e3ef
Revises: d4e5a6b7c8d9
Create Date: 2026-11-25 23:39:00.380869

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'df6000a6e3ef'
down_revision = 'd4e5a6b7c8d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_return', sa.Boolean(), nullable=True))
    op.create_table('recalls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('quarantined_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recalls_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recalls'))
    )
    op.create_table('book_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['corrects_id'], ['book_entries.id'], name=op.f('fk_book_entries_corrects_id_book_entries')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_book_entries_event_id_events')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_book_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_book_entries'))
    )
    with op.batch_alter_table('book_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_book_entries_event_id'), ['event_id'], unique=False)



def downgrade():
    with op.batch_alter_table('book_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_book_entries_event_id'))

    op.drop_table('book_entries')
    op.drop_table('recalls')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('warranty_return')
