"""repeat, expiry and snooze: alerts that re-arm, end, or wait an hour

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:43:30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.storage.types import ExactDecimal

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = ["active", "fired", "deleted", "paused"]
NEW_STATES = OLD_STATES + ["waiting", "cooling", "expired"]


def _states(batch: object, states: list[str]) -> None:
    batch.drop_constraint(op.f("ck_alerts_alert_state"), type_="check")  # type: ignore[attr-defined]
    batch.create_check_constraint("alert_state", "state IN (" + ", ".join(f"'{s}'" for s in states) + ")")  # type: ignore[attr-defined]


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("fire_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("repeat_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rearm_level", ExactDecimal(), nullable=True))
        batch.add_column(sa.Column("rearm_after", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_alerts_due", ["state", "rearm_after"], unique=False)
        batch.create_index("ix_alerts_expiry", ["state", "expires_at"], unique=False)
        batch.create_index("ix_alerts_rearm", ["state", "symbol", "direction", "rearm_level"], unique=False)
        _states(batch, NEW_STATES)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column(
            "kind",
            sa.Enum("fired", "repeat", "expired", name="message_kind", native_enum=False, create_constraint=True, length=8),
            server_default="fired", nullable=False,
        ))


def downgrade() -> None:
    op.execute("UPDATE alerts SET state = 'fired' WHERE state IN ('waiting', 'cooling', 'expired')")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_message_kind"), type_="check")
        batch.drop_column("kind")
    with op.batch_alter_table("alerts") as batch:
        _states(batch, OLD_STATES)
        batch.drop_index("ix_alerts_rearm")
        batch.drop_index("ix_alerts_expiry")
        batch.drop_index("ix_alerts_due")
        for name in ("expires_at", "rearm_after", "rearm_level", "repeat_seconds", "fire_count"):
            batch.drop_column(name)
