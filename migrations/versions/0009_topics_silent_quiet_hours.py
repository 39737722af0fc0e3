"""forum topics, silent alerts, time zones and quiet hours (issue 25)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-07 05:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("message_thread_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("message_thread_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("held_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.add_column(sa.Column("quiet_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "forum_topics",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_thread_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_thread_id", name=op.f("pk_forum_topics")),
    )


def downgrade() -> None:
    op.drop_table("forum_topics")
    # Messages held for a digest stay pending: without held_until they go out at once, not lost.
    with op.batch_alter_table("chats") as batch:
        for name in ("quiet_digest", "quiet_end", "quiet_start", "timezone"):
            batch.drop_column(name)
    with op.batch_alter_table("outbox") as batch:
        for name in ("held_until", "silent", "message_thread_id"):
            batch.drop_column(name)
    with op.batch_alter_table("alerts") as batch:
        for name in ("silent", "message_thread_id"):
            batch.drop_column(name)
