"""move alerts: a % move either way within a time window

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _directions(batch: object, directions: list[str]) -> None:
    batch.drop_constraint(op.f("ck_alerts_direction"), type_="check")  # type: ignore[attr-defined]
    batch.create_check_constraint("direction", "direction IN (" + ", ".join(f"'{d}'" for d in directions) + ")")  # type: ignore[attr-defined]


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("window_seconds", sa.Integer(), nullable=True))
        batch.create_index("ix_alerts_moves", ["state", "direction", "symbol", "window_seconds", "level"], unique=False)
        _directions(batch, ["up", "down", "either"])


def downgrade() -> None:
    op.execute("UPDATE alerts SET state = 'deleted' WHERE direction = 'either'")
    op.execute("UPDATE alerts SET direction = 'up' WHERE direction = 'either'")
    with op.batch_alter_table("alerts") as batch:
        _directions(batch, ["up", "down"])
        batch.drop_index("ix_alerts_moves")
        batch.drop_column("window_seconds")
