"""indexes for the audience query

Revision ID: 0002
Revises: 0001

The audience selection (gate/audience.py) reads one salon's clients in id order and merges each
client's latest purchase and latest consent into them. These indexes give both aggregates their
rows already in client order and hold every column they read, so PostgreSQL scans the indexes
only (no table rows, no sort) and SQLite finds a salon's rows without a full table scan.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_salon', ['salon_id', 'id'], unique=False)

    # Purchases only: R3 ignores visits without an amount.
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index(
            'ix_visit_salon_purchase',
            ['salon_id', 'client_id', 'visited_at'],
            unique=False,
            postgresql_where=sa.text('amount > 0'),
            sqlite_where=sa.text('amount > 0'),
        )

    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(
            'ix_consent_salon_channel',
            ['salon_id', 'channel', 'client_id', 'party', 'id', 'action'],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_salon_channel')

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_salon_purchase')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_salon')
