"""The raw-data contract: the Parquet tables a retailer exports into the raw folder.

This module is the one machine-readable statement of the contract. The data
generator writes exactly these tables and columns, the dbt sources in
``models/staging/_raw__sources.yml`` declare the same columns (a test checks
that they agree), and ``docs/raw_data_contract.md`` explains them for people.

Each table is one Parquet file named ``<table>.parquet`` in the raw folder
(the dbt var ``raw_data_path``). Required tables must be present and non-empty;
an optional table may be absent or empty, and the features it feeds are then
null (documented per feature in ``models/features/_features__models.yml``).

Types are DuckDB logical types. Identifier columns may arrive as integers or
strings; staging casts them to VARCHAR.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    primary_key: tuple[str, ...]
    required: bool
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# Accepted values that staging normalises to; anything else is kept but
# reported (see the accepted_values tests on staging models).
SESSION_CHANNELS = ("app", "web")
MESSAGE_CHANNELS = ("email", "push")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
# Category groups that get their own share-of-spend feature; every other
# product category counts as "other".
CATEGORY_GROUPS = ("electronics", "home", "fashion", "beauty", "sports", "grocery")

TABLES: tuple[Table, ...] = (
    Table(
        name="customers",
        description="One row per customer account, with profile fields as captured at sign-up.",
        primary_key=("customer_id",),
        required=True,
        columns=(
            Column("customer_id", "VARCHAR", "Customer identifier (integer or string)."),
            Column("signed_up_at", "TIMESTAMP", "When the account was created."),
            Column("age_band", "VARCHAR", "Age band, e.g. '25-34'; null when unknown.", True),
            Column("region", "VARCHAR", "Region or country; null when unknown.", True),
            Column(
                "acquisition_channel",
                "VARCHAR",
                "Channel that acquired the customer (organic, paid_search, social, "
                "referral, affiliate, ...); null when unknown.",
                True,
            ),
            Column(
                "device_type",
                "VARCHAR",
                "Device used most at sign-up (mobile, desktop, tablet); null when unknown.",
                True,
            ),
        ),
    ),
    Table(
        name="orders",
        description="One row per placed order.",
        primary_key=("order_id",),
        required=True,
        columns=(
            Column("order_id", "VARCHAR", "Order identifier."),
            Column("customer_id", "VARCHAR", "Customer who placed the order."),
            Column("ordered_at", "TIMESTAMP", "When the order was placed."),
            Column(
                "order_total",
                "DOUBLE",
                "Amount paid for the order after discount, in the shop currency; > 0.",
            ),
            Column(
                "discount_amount",
                "DOUBLE",
                "Discount applied to the order (>= 0; 0 when no discount was used).",
            ),
        ),
    ),
    Table(
        name="order_lines",
        description="Lines of each order with their product category (category affinity).",
        primary_key=("order_id", "line_number"),
        required=False,
        columns=(
            Column("order_id", "VARCHAR", "Order the line belongs to."),
            Column("line_number", "INTEGER", "Position of the line in the order (1, 2, ...)."),
            Column("product_category", "VARCHAR", "Product category of the line."),
            Column("quantity", "INTEGER", "Units bought; > 0."),
            Column("line_total", "DOUBLE", "Amount paid for the line after discount; >= 0."),
        ),
    ),
    Table(
        name="returns",
        description="One row per return or refund, dated when it was recorded.",
        primary_key=("return_id",),
        required=False,
        columns=(
            Column("return_id", "VARCHAR", "Return identifier."),
            Column("order_id", "VARCHAR", "Order the return belongs to."),
            Column("customer_id", "VARCHAR", "Customer who returned."),
            Column("returned_at", "TIMESTAMP", "When the return/refund was recorded."),
            Column("refund_amount", "DOUBLE", "Amount refunded; >= 0."),
            Column("reason", "VARCHAR", "Return reason as recorded; null when not given.", True),
        ),
    ),
    Table(
        name="sessions",
        description="One row per web or app session of a known (logged-in) customer.",
        primary_key=("session_id",),
        required=False,
        columns=(
            Column("session_id", "VARCHAR", "Session identifier."),
            Column("customer_id", "VARCHAR", "Customer of the session."),
            Column("started_at", "TIMESTAMP", "When the session started (the event time)."),
            Column("channel", "VARCHAR", "'app' or 'web'."),
            Column("duration_seconds", "DOUBLE", "Session length in seconds; >= 0.", True),
            Column("pages_viewed", "INTEGER", "Pages or screens viewed; >= 0."),
            Column("product_views", "INTEGER", "Product detail pages viewed; >= 0."),
            Column("cart_adds", "INTEGER", "Add-to-cart events; >= 0."),
        ),
    ),
    Table(
        name="marketing_messages",
        description="One row per marketing email or push notification sent to a customer.",
        primary_key=("message_id",),
        required=False,
        columns=(
            Column("message_id", "VARCHAR", "Message identifier."),
            Column("customer_id", "VARCHAR", "Recipient."),
            Column("channel", "VARCHAR", "'email' or 'push'."),
            Column("sent_at", "TIMESTAMP", "When the message was sent."),
            Column("opened_at", "TIMESTAMP", "First open; null if never opened.", True),
            Column("clicked_at", "TIMESTAMP", "First click; null if never clicked.", True),
        ),
    ),
    Table(
        name="support_tickets",
        description="One row per customer-support ticket.",
        primary_key=("ticket_id",),
        required=False,
        columns=(
            Column("ticket_id", "VARCHAR", "Ticket identifier."),
            Column("customer_id", "VARCHAR", "Customer who opened the ticket."),
            Column("opened_at", "TIMESTAMP", "When the ticket was opened."),
            Column("resolved_at", "TIMESTAMP", "When it was resolved; null if still open.", True),
            Column("reason", "VARCHAR", "Ticket reason (delivery, product, payment, ...).", True),
            Column(
                "csat_score",
                "INTEGER",
                "Satisfaction score 1-5 given at resolution; null when not given.",
                True,
            ),
        ),
    ),
    Table(
        name="loyalty_tier_changes",
        description=(
            "Dated changes of loyalty tier: one row each time a customer's tier changes, "
            "so the tier can be read as of any past date."
        ),
        primary_key=("customer_id", "changed_at"),
        required=False,
        columns=(
            Column("customer_id", "VARCHAR", "Customer."),
            Column("changed_at", "TIMESTAMP", "When the new tier took effect."),
            Column("loyalty_tier", "VARCHAR", "Tier from then on: bronze, silver, gold, platinum."),
        ),
    ),
    Table(
        name="email_subscription_changes",
        description=(
            "Dated email subscribe/unsubscribe events, so subscription status can be read "
            "as of any past date. A customer with no row is treated as subscribed at sign-up."
        ),
        primary_key=("customer_id", "changed_at"),
        required=False,
        columns=(
            Column("customer_id", "VARCHAR", "Customer."),
            Column("changed_at", "TIMESTAMP", "When the change took effect."),
            Column("is_subscribed", "BOOLEAN", "Subscription status from then on."),
        ),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
REQUIRED_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if t.required)
OPTIONAL_TABLES: tuple[str, ...] = tuple(t.name for t in TABLES if not t.required)
