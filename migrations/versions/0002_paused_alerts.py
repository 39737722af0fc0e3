"""paused alerts: a chat that blocked the bot keeps its alerts, paused

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The constraint's name from the naming convention in bot.storage.models ("ck_%(table)s_%(name)s").
CONSTRAINT = "alert_state"


def _allow(states: list[str]) -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f(f"ck_alerts_{CONSTRAINT}"), type_="check")
        batch.create_check_constraint(CONSTRAINT, "state IN (" + ", ".join(f"'{s}'" for s in states) + ")")


def upgrade() -> None:
    _allow(["active", "fired", "deleted", "paused"])


def downgrade() -> None:
    op.execute("UPDATE alerts SET state = 'active' WHERE state = 'paused'")
    _allow(["active", "fired", "deleted"])
