"""Reading the ML marts into `ml.dataset.Marts` frames."""

from __future__ import annotations

import logging

from ml.dataset import ITEM_FEATURES, USER_FEATURES, MartDataError, Marts
from xrec.catalog import ML_MARTS
from xrec.config import Settings
from xrec.spans import spanned
from xrec.warehouse import connect

log = logging.getLogger(__name__)


def _families(families: tuple[str, ...]) -> str:
    return "split_part(feature, ':', 1) in (" + ", ".join(f"'{f}'" for f in families) + ")"


def _mart(name: str) -> str:
    return ML_MARTS[name].relation


# Every query is ordered: DuckDB scans in parallel, and LightFM's id maps and SGD order follow
# row order, so an unordered read would make a rerun of the same day train a different model.
MART_SQL = {
    "persons": f"select person_id, city, risk_tolerance from {_mart('persons')} order by person_id",
    "recipients": f"select person_id, recipient_source, recipient_id from {_mart('recipients')} order by all",
    "items": f"""select item_key, source, item_id, title, category, topic, city,
                        cast(risk_level as integer) as risk_level, is_active
                 from {_mart("items")} order by source = 'platform' desc, source, item_key""",
    "interactions": f"select person_id, item_key, weight, first_at, last_at from {_mart('interactions')} "
    "order by person_id, item_key",
    "person_features": f"select person_id, feature, value from {_mart('person_features')} "
    f"where {_families(USER_FEATURES)} order by person_id, feature",
    "item_features": f"select item_key, feature, value from {_mart('item_features')} "
    f"where {_families(ITEM_FEATURES)} order by item_key, feature",
}


@spanned("load_marts")
def load_marts(settings: Settings) -> Marts:
    """Read the ML marts from the warehouse (as built by dbt for the current run_date)."""
    with connect(settings, read_only=True) as con:
        try:
            frames = {name: con.execute(sql).df() for name, sql in MART_SQL.items()}
        except Exception as error:  # duckdb.CatalogException and friends
            raise MartDataError(
                f"cannot read the ML marts from {settings.warehouse}: {error}; run dbt build first"
            ) from error
    marts = Marts(**frames)
    for name, frame in frames.items():
        log.info("loaded %s: %d rows", _mart(name), len(frame))
    if marts.persons.empty or marts.items.empty or marts.interactions.empty:
        raise MartDataError(
            f"{_mart('persons')}, {_mart('items')} and {_mart('interactions')} must not be empty "
            f"(rows: {len(marts.persons)}, {len(marts.items)}, {len(marts.interactions)})"
        )
    return marts
