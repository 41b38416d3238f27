"""What each contract entity must look like on arrival (shared/CONTRACT.md), as data.

Ingest quarantines only hard contract violations; soft dirt (duplicates, case and whitespace
variants, empty optional values) passes through for dbt staging. A row breaking several rules is
recorded once, under the first rule that applies, in this order:

1. ``malformed_row``    the CSV record has the wrong number of fields or cannot be parsed
2. ``required:<col>``   the key or a required foreign key is empty
3. ``type:<col>``       a number/integer/timestamp/date/boolean value does not parse
4. ``enum:<col>``       a value outside the contract's set (compared trimmed, case-insensitive)
5. ``range:<col>``      negative money, rating/risk_level outside 1..5, birth_year outside
                        1900..the drop's year
6. ``future:<col>``     a timestamp or date after the end of the drop's date (Asia/Shanghai)

Within one step the columns are checked in the order listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from xrec.config import PLATFORM

#: ``max`` value meaning "the year of the drop being loaded" (birth years).
DELIVERY_YEAR = "delivery_year"


@dataclass(frozen=True)
class Column:
    """One column's hard contract: how ingest checks it (values stay VARCHAR as delivered)."""

    name: str
    kind: str = "text"  # text | number | integer | timestamp | date | boolean
    required: bool = False
    enum: tuple[str, ...] = ()
    enum_allows_empty: bool = True
    min: float | None = None
    max: float | str | None = None
    not_future: bool = False


@dataclass(frozen=True)
class Entity:
    """A contract entity: its header columns, key and the checks on known columns."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # Checked only when the file has them (partner vertical columns); never required.
    optional: tuple[Column, ...] = ()
    # Raw PII columns replaced on read by ``<col>_sha256``; they never reach a table.
    pii: tuple[str, ...] = ()

    @property
    def header(self) -> tuple[str, ...]:
        """Columns every file of this entity must have in its header."""
        return tuple(column.name for column in self.columns)

    def checked_columns(self, present: set[str]) -> tuple[Column, ...]:
        """Columns whose rules apply to a file with the ``present`` header columns."""
        return self.columns + tuple(c for c in self.optional if c.name in present)


def _ts(name: str) -> Column:
    return Column(name, "timestamp", not_future=True)


def _money(name: str) -> Column:
    return Column(name, "number", min=0)


def _birth_year() -> Column:
    return Column("birth_year", "integer", min=1900, max=DELIVERY_YEAR)


PLATFORM_ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            "users",
            key=("user_id",),
            columns=(
                Column("user_id", required=True),
                Column("email"),
                Column("phone"),
                Column("city"),
                _birth_year(),
                Column("gender", enum=("m", "f", "u")),
                _ts("signup_at"),
                Column("interests"),
                _ts("updated_at"),
            ),
            # (v2) consent to share with partners; a drop without it states no consent.
            optional=(Column("share_with"),),
            pii=("email", "phone"),
        ),
        # (v2, optional entity) erasure requests: xrec.privacy.erasure acts on them.
        Entity(
            "deletions",
            key=("user_id",),
            columns=(Column("user_id", required=True), _ts("requested_at")),
        ),
        Entity(
            "courses",
            key=("course_id",),
            columns=(
                Column("course_id", required=True),
                Column("title"),
                Column("category"),
                Column("tags"),
                _money("price"),
                Column("instructor"),
                _ts("published_at"),
                Column("is_active", "boolean"),
                _ts("updated_at"),
            ),
        ),
        Entity(
            "events",
            key=("event_id",),
            columns=(
                Column("event_id", required=True),
                Column("user_id", required=True),
                Column("course_id", required=True),
                Column("event_type", enum=("view", "purchase", "complete", "rate"), enum_allows_empty=False),
                Column("rating", "integer", min=1, max=5),
                _money("amount"),
                _ts("occurred_at"),
            ),
        ),
    )
}

PARTNER_ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            "customers",
            key=("customer_id",),
            columns=(
                Column("customer_id", required=True),
                Column("email_sha256"),
                Column("phone_sha256"),
                Column("city"),
                _birth_year(),
                _ts("updated_at"),
            ),
        ),
        Entity(
            "items",
            key=("item_id",),
            columns=(
                Column("item_id", required=True),
                Column("title"),
                Column("category"),
                _money("price"),
                Column("city"),
                Column("is_active", "boolean"),
                _ts("updated_at"),
            ),
            # The verticals' own columns (realty, finance, ...): typed checks when delivered.
            optional=(
                Column("area_sqm", "number"),
                Column("bedrooms", "integer"),
                Column("risk_level", "integer", min=1, max=5),
                Column("expected_return_pct", "number"),
                Column("min_investment", "number"),
            ),
        ),
        Entity(
            "interactions",
            key=("interaction_id",),
            columns=(
                Column("interaction_id", required=True),
                Column("customer_id", required=True),
                Column("item_id", required=True),
                Column("event_type", enum=("view", "inquiry", "favorite", "purchase"), enum_allows_empty=False),
                _money("amount"),
                _ts("occurred_at"),
            ),
        ),
        Entity(
            "outcomes",
            key=("customer_id", "item_id", "recommended_on"),
            columns=(
                Column("customer_id", required=True),
                Column("item_id", required=True),
                Column("recommended_on", "date", not_future=True),
                Column("event_type", enum=("impression", "click", "conversion"), enum_allows_empty=False),
                _ts("occurred_at"),
            ),
        ),
    )
}


def entities_for(source: str) -> dict[str, Entity]:
    """The entities ``source`` may deliver: the platform's, or the common partner ones."""
    return PLATFORM_ENTITIES if source == PLATFORM else PARTNER_ENTITIES
