"""deliveries and exclusions name their campaign and client with their salon

Revision ID: 0004
Revises: 0003

A delivery (and an exclusion) referred to its salon, its campaign and its client each alone:
three reference checks per planned row, most of a campaign's planning, and none of them said that
the campaign and the client are the row's own salon's. Now each refers to (salon, campaign) and
(salon, client): two checks per row, and a row that mixes two salons cannot be stored.

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('delivery', 'exclusion')


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_salon')
        batch_op.create_unique_constraint(op.f('uq_client_salon_id_id'), ['salon_id', 'id'])
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f('uq_campaign_salon_id_id'), ['salon_id', 'id'])
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in (('salon_id', 'salon'), ('campaign_id', 'campaign'),
                                     ('client_id', 'client')):
                batch_op.drop_constraint(op.f(f'fk_{table}_{column}_{referred}'), type_='foreignkey')
            batch_op.create_foreign_key(
                op.f(f'fk_{table}_salon_id_campaign'), 'campaign',
                ['salon_id', 'campaign_id'], ['salon_id', 'id'],
            )
            batch_op.create_foreign_key(
                op.f(f'fk_{table}_salon_id_client'), 'client',
                ['salon_id', 'client_id'], ['salon_id', 'id'],
            )


def downgrade() -> None:
    """Downgrade schema."""
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'fk_{table}_salon_id_client'), type_='foreignkey')
            batch_op.drop_constraint(op.f(f'fk_{table}_salon_id_campaign'), type_='foreignkey')
            for column, referred in (('salon_id', 'salon'), ('campaign_id', 'campaign'),
                                     ('client_id', 'client')):
                batch_op.create_foreign_key(
                    op.f(f'fk_{table}_{column}_{referred}'), referred, [column], ['id']
                )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_campaign_salon_id_id'), type_='unique')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_client_salon_id_id'), type_='unique')
        batch_op.create_index('ix_client_salon', ['salon_id', 'id'], unique=False)
