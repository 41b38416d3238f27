"""Test-wide isolation: Airflow and telemetry settings for anything imported by the tests."""

import os
import tempfile

# Airflow reads its home at import time: point it at a throw-away folder, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="xrec-test-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
for name, value in {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ.setdefault(name, value)


def pytest_collection_modifyitems(items):
    """End-to-end tests first (a stable sort keeps file order otherwise): under `make test`'s two
    xdist workers the longest files then start at once and the short ones fill in behind them,
    instead of one long file running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
