"""Orphan references: interactions naming an item that was never delivered or was quarantined.

They are kept as late-arriving facts and left out of the model until the item arrives;
``marts.bi_orphan_references`` counts them per source and day. The `xrec run` summary and the
run report both show the totals per source from here.
"""

from __future__ import annotations

import duckdb

MART = "marts.bi_orphan_references"
MEANING = (
    "interactions naming items not delivered or quarantined; kept, left out of the model until "
    f"the item arrives; per day in {MART.split('.')[1]}"
)
# (source, orphan interactions) over every day, by source
TOTALS = f"select source, sum(orphan_interactions)::bigint from {MART} group by source order by source"


def orphan_totals(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """(source, orphan interactions) over every day, by source; [] before the mart exists."""
    try:
        return con.execute(TOTALS).fetchall()
    except duckdb.CatalogException:
        return []
