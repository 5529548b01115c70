"""catalog

Revision ID: e85521e8da6d
Revises: 6abbf1cb9b50
Create Date: 2026-11-23 03:20:50.911319

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e85521e8da6d"
down_revision = "6abbf1cb9b50"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title_nb", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("guidance_nb", sa.Text(), nullable=False),
        sa.Column("guidance_en", sa.Text(), nullable=False),
        sa.Column("evidence_nb", sa.Text(), nullable=False),
        sa.Column("evidence_en", sa.Text(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion")),
        sa.UniqueConstraint("code", name=op.f("uq_criterion_code")),
    )
    op.create_table(
        "vendor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("security_email", sa.String(length=254), nullable=False),
        sa.Column("website", sa.String(length=2000), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_vendor_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["user.id"],
            name=op.f("fk_vendor_verified_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_vendor_organisation_id")),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("summary_nb", sa.String(length=300), nullable=False),
        sa.Column("summary_en", sa.String(length=300), nullable=False),
        sa.Column("description_nb", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "clinical_decision_support",
                "documentation",
                "medication",
                "care_coordination",
                "patient_communication",
                "administration",
                "analytics",
                "welfare_technology",
                name="category",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "audience",
            sa.Enum(
                "clinician", "patient", "backend", name="audience", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("support_url", sa.String(length=2000), nullable=False),
        sa.Column("privacy_url", sa.String(length=2000), nullable=False),
        sa.Column(
            "price_model",
            sa.Enum(
                "fixed",
                "per_inhabitant",
                "basis_usage",
                "per_use",
                "free",
                name="pricemodel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("price_ore", sa.Integer(), nullable=True),
        sa.Column(
            "usage_unit",
            sa.Enum("launch", "active_user_month", name="usageunit", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("basis_share_percent", sa.Integer(), nullable=True),
        sa.Column("logo_sha256", sa.String(length=64), nullable=True),
        sa.Column("logo_content_type", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "basis_share_percent IS NULL OR basis_share_percent BETWEEN 0 AND 100",
            name=op.f("ck_application_basis_share_percent_range"),
        ),
        sa.CheckConstraint(
            "price_ore IS NULL OR price_ore >= 0", name=op.f("ck_application_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_application_vendor_id_vendor"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("slug", name=op.f("uq_application_slug")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "vendor_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["user.id"],
            name=op.f("fk_vendor_invitation_accepted_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["user.id"],
            name=op.f("fk_vendor_invitation_invited_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor.id"],
            name=op.f("fk_vendor_invitation_vendor_id_vendor"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_vendor_invitation_token_hash")),
    )
    with op.batch_alter_table("vendor_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vendor_invitation_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column(
            "environment",
            sa.Enum("sandbox", "production", name="environment", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_client_application_id_application"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client")),
        sa.UniqueConstraint(
            "application_id", "environment", name=op.f("uq_client_application_id_environment")
        ),
        sa.UniqueConstraint("client_id", name=op.f("uq_client_client_id")),
    )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "release",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "submitted",
                "in_review",
                "certified",
                "rejected",
                "suspended",
                "revoked",
                "superseded",
                name="releasestate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "client_type",
            sa.Enum(
                "public",
                "confidential_secret",
                "confidential_key",
                "backend",
                name="clienttype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("launch_url", sa.String(length=2000), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("jwks_url", sa.String(length=2000), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("launch_modes", sa.JSON(), nullable=False),
        sa.Column("fhir_version", sa.String(length=8), nullable=False),
        sa.Column("release_notes", sa.Text(), nullable=False),
        sa.Column("data_use_statement", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_release_application_id_application"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_release_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release")),
        sa.UniqueConstraint(
            "application_id", "version", name=op.f("uq_release_application_id_version")
        ),
    )
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_release_state"), ["state"], unique=False)

    op.create_table(
        "screenshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_screenshot_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenshot")),
    )
    with op.batch_alter_table("screenshot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_screenshot_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "client_secret",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["client.id"],
            name=op.f("fk_client_secret_client_pk_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_client_secret_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_secret")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_client_secret_secret_hash")),
    )
    with op.batch_alter_table("client_secret", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_secret_client_pk"), ["client_pk"], unique=False)

    op.create_table(
        "criterion_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "passed", "failed", "not_applicable", name="outcome", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criterion.id"],
            name=op.f("fk_criterion_check_criterion_id_criterion"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_criterion_check_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["user.id"],
            name=op.f("fk_criterion_check_reviewer_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criterion_check")),
        sa.UniqueConstraint(
            "release_id", "criterion_id", name=op.f("uq_criterion_check_release_id_criterion_id")
        ),
    )
    with op.batch_alter_table("criterion_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_criterion_check_criterion_id"), ["criterion_id"], unique=False
        )

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on > issued_on",
            name=op.f("ck_evidence_expires_after_issue"),
        ),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criterion.id"],
            name=op.f("fk_evidence_criterion_id_criterion"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_evidence_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user.id"],
            name=op.f("fk_evidence_uploaded_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_criterion_id"), ["criterion_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_release_id"), ["release_id"], unique=False)

    op.create_table(
        "release_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(
                "draft",
                "submitted",
                "in_review",
                "certified",
                "rejected",
                "suspended",
                "revoked",
                "superseded",
                name="releasestate",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(
                "draft",
                "submitted",
                "in_review",
                "certified",
                "rejected",
                "suspended",
                "revoked",
                "superseded",
                name="releasestate",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_release_event_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_release_event_release_id_release"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_event")),
    )
    with op.batch_alter_table("release_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_event_release_id"), ["release_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("release_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_event_release_id"))

    op.drop_table("release_event")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_release_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_criterion_id"))

    op.drop_table("evidence")
    with op.batch_alter_table("criterion_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_criterion_check_criterion_id"))

    op.drop_table("criterion_check")
    with op.batch_alter_table("client_secret", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_secret_client_pk"))

    op.drop_table("client_secret")
    with op.batch_alter_table("screenshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screenshot_application_id"))

    op.drop_table("screenshot")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_state"))
        batch_op.drop_index(batch_op.f("ix_release_application_id"))

    op.drop_table("release")
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_application_id"))

    op.drop_table("client")
    with op.batch_alter_table("vendor_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendor_invitation_vendor_id"))

    op.drop_table("vendor_invitation")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_vendor_id"))

    op.drop_table("application")
    op.drop_table("vendor")
    op.drop_table("criterion")
