"""the provider id index holds sent deliveries only

Revision ID: 0003
Revises: 0002

Status callbacks find their delivery by the provider's message id, which a delivery has only once
it was handed off. As a full index it also held a NULL entry for every planned delivery and, as
claims cannot be HOT updates (the status is indexed), another for every claim: index work on the
two hottest statements of a campaign (the planning INSERT and the claim) for entries nothing
ever looks up. Partial, it holds what the callbacks look for.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_provider_id')
        batch_op.create_index(
            'ix_delivery_provider_id',
            ['provider_id'],
            unique=False,
            postgresql_where=sa.text('provider_id IS NOT NULL'),
            sqlite_where=sa.text('provider_id IS NOT NULL'),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_provider_id')
        batch_op.create_index('ix_delivery_provider_id', ['provider_id'], unique=False)
