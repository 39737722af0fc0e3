"""crossings, pauses that remember, symbols that end, retention, and guides shared by replicas

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ["active", "fired", "deleted", "paused", "waiting", "cooling", "expired"]
NEW_STATES = OLD_STATES + ["arming", "ended"]


def _states(batch: object, states: list[str]) -> None:
    batch.drop_constraint(op.f("ck_alerts_alert_state"), type_="check")  # type: ignore[attr-defined]
    batch.create_check_constraint("alert_state", "state IN (" + ", ".join(f"'{s}'" for s in states) + ")")  # type: ignore[attr-defined]


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("armed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("paused_from", sa.String(8), nullable=True))
        batch.add_column(sa.Column("paused_by", sa.String(10), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_alerts_closed", ["closed_at"], unique=False)
        _states(batch, NEW_STATES)
    # Alerts that were watching were armed when they were made; paused ones were paused by a
    # user, or by a block when their chat is marked blocked.
    op.execute("UPDATE alerts SET armed_at = created_at WHERE state = 'active'")
    op.execute("UPDATE alerts SET paused_from = 'active', paused_by = CASE WHEN chat_id IN "
               "(SELECT id FROM chats WHERE blocked_at IS NOT NULL) THEN 'blocked' ELSE 'user' END "
               "WHERE state = 'paused'")
    op.execute("UPDATE alerts SET closed_at = COALESCE(fired_at, created_at) "
               "WHERE state IN ('fired', 'deleted', 'expired')")
    op.create_table(
        "guide_steps",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("prompt_message_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_guide_steps")),
    )


def downgrade() -> None:
    op.drop_table("guide_steps")
    op.execute("UPDATE alerts SET state = 'active' WHERE state = 'arming'")
    op.execute("UPDATE alerts SET state = 'expired' WHERE state = 'ended'")
    with op.batch_alter_table("alerts") as batch:
        _states(batch, OLD_STATES)
        batch.drop_index("ix_alerts_closed")
        for name in ("closed_at", "paused_by", "paused_from", "armed_at"):
            batch.drop_column(name)
