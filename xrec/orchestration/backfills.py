"""`python -m xrec.orchestration.backfills cancel|unfinished DAG_ID`: cancel, or list, the DAG's
unfinished backfills in the metadata DB of the current Airflow environment; prints their ids (a
JSON list, last line).

Airflow 3 has no CLI command for either (only the REST API, which needs a running api-server
and a token); `cancel` does what the REST endpoint does, in a subprocess so the Airflow
configuration comes from the environment xrec builds.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from airflow.models.backfill import Backfill, BackfillDagRun
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from sqlalchemy import select, update


def unfinished(dag_id: str) -> list[int]:
    """Ids of the DAG's backfills without ``completed_at``."""
    with create_session() as session:
        return list(
            session.scalars(select(Backfill.id).where(Backfill.dag_id == dag_id, Backfill.completed_at.is_(None)))
        )


def cancel_unfinished(dag_id: str) -> list[int]:
    with create_session() as session:
        backfills = session.scalars(
            select(Backfill).where(Backfill.dag_id == dag_id, Backfill.completed_at.is_(None))
        ).all()
        for backfill in backfills:
            backfill.is_paused = True
            session.commit()  # no new runs start from here
            session.execute(
                update(DagRun)
                .where(
                    DagRun.id.in_(select(BackfillDagRun.dag_run_id).where(BackfillDagRun.backfill_id == backfill.id)),
                    DagRun.state.in_([DagRunState.QUEUED, DagRunState.RUNNING]),
                )
                .values(state=DagRunState.FAILED)
                .execution_options(synchronize_session=False)
            )
            backfill.completed_at = datetime.now(UTC)
            session.commit()
        return [backfill.id for backfill in backfills]


ACTIONS = {"cancel": cancel_unfinished, "unfinished": unfinished}

if __name__ == "__main__":
    # Airflow logs to stdout too: the ids go on the last line, as JSON, for the caller to find.
    action, dag = sys.argv[1:3]
    print(json.dumps(ACTIONS[action](dag)))
