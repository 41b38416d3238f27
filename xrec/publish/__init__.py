"""Serving: publish a gated run and hand BI tools and partners stable copies of it.

`publish` (step.py) promotes candidates into ``cross_recommendations`` (current.py), writes
Parquet and a read-only snapshot (files.py), loads the Postgres serving schema (postgres.py)
and partner audience files (exports.py); `report.build_report` renders the run report.
"""

from xrec.publish.errors import PublishError
from xrec.publish.step import PublishSummary, publish

__all__ = ["PublishError", "PublishSummary", "publish"]
