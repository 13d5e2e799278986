"""completions and ratings

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "completions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release", sa.String(128), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("redactions", sa.Integer(), nullable=False),
    )
    op.create_index("ix_completions_created_at", "completions", ["created_at"])
    op.create_index("ix_completions_release", "completions", ["release"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("completion_id", sa.String(64), sa.ForeignKey("completions.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release", sa.String(128), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("correction", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("client_key", sa.String(128), nullable=True),
        sa.UniqueConstraint("client_key", name="uq_ratings_client_key"),
    )
    op.create_index("ix_ratings_completion_id", "ratings", ["completion_id"])
    op.create_index("ix_ratings_created_at", "ratings", ["created_at"])
    op.create_index("ix_ratings_release", "ratings", ["release"])


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("completions")
