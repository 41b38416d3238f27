"""Test-wide isolation: Airflow and telemetry settings for anything imported by the tests."""
import os
import tempfile

# Airflow reads its home at import time: point it at a throw-away folder, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="xrec-test-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
for name, value in {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "GX_ANALYTICS_ENABLED": "False",
                    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "DO_NOT_TRACK": "1"}.items():
    os.environ.setdefault(name, value)
