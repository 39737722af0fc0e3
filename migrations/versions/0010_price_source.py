"""price source: an alert watches the last, mark or index price or the funding rate (issue 24, docs/futures.md)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import ExactDecimal

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("price_source", sa.Enum("last", "mark", "index", "funding", "before", name="price_source",
                                                           native_enum=False, create_constraint=True, length=8),
                                   nullable=False, server_default="last"))
        batch.add_column(sa.Column("liquidation", ExactDecimal(),
                                   nullable=True))
        # The range scans per (symbol, direction) become per (symbol, direction, price source).
        batch.drop_index("ix_alerts_firing")
        batch.drop_index("ix_alerts_rearm")
        batch.create_index("ix_alerts_firing", ["state", "symbol", "direction", "price_source", "level"], unique=False)
        batch.create_index("ix_alerts_rearm", ["state", "symbol", "direction", "price_source", "rearm_level"],
                           unique=False)


def downgrade() -> None:
    # Without the column a mark or index alert would watch the last price: they end instead.
    op.execute("UPDATE alerts SET state = 'deleted' WHERE price_source <> 'last' AND state NOT IN "
               "('fired', 'deleted', 'expired', 'ended')")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_firing")
        batch.drop_index("ix_alerts_rearm")
        batch.create_index("ix_alerts_firing", ["state", "symbol", "direction", "level"], unique=False)
        batch.create_index("ix_alerts_rearm", ["state", "symbol", "direction", "rearm_level"], unique=False)
        batch.drop_constraint(op.f("ck_alerts_price_source"), type_="check")
        batch.drop_column("price_source")
        batch.drop_column("liquidation")
