"""Which raw deliveries have passed a gate: ``main.delivery_verdicts``, append-only.

A run uses every delivery of a source up to its date, so each must pass a raw gate before a
run builds on it, not only the run date's own (issue 16, case 4: D failed its gate, D+1 then
published from D's data). A verdict holds for one load of a delivery (``loaded_at`` of its
latest ``raw.load_audit`` row): a re-delivery is a new load and is judged again. A failed
delivery stays blocked until it is re-delivered or an operator accepts it
(``xrec accept-drop``), which is appended here with who-knows-why in ``reason``.
"""

from __future__ import annotations

import getpass
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from xrec.catalog import DELIVERY_VERDICTS, LOAD_AUDIT
from xrec.config import Settings
from xrec.verdicts import Verdict
from xrec.warehouse import connect

log = logging.getLogger(__name__)

TABLE = DELIVERY_VERDICTS.relation
_DDL = DELIVERY_VERDICTS.ddl()


class DeliveryBlocked(Verdict):
    """An earlier delivery the run would use failed its raw gate and was not fixed."""


@dataclass(frozen=True)
class DeliveryState:
    delivery_date: date
    loaded_at: datetime
    passed: bool | None  # None: this load was never judged
    decided_by: str | None
    reason: str | None
    decided_at: datetime | None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def delivery_states(settings: Settings, source: str, up_to: date) -> list[DeliveryState]:
    """The loaded deliveries of ``source`` dated <= ``up_to`` and the verdict on their load."""
    with connect(settings) as con:
        con.execute(_DDL)
        if not con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [LOAD_AUDIT.schema, LOAD_AUDIT.name],
        ).fetchone()[0]:
            return []
        rows = con.execute(
            f"""
            with loads as (
                select delivery_date, max(loaded_at) as loaded_at from {LOAD_AUDIT.relation}
                where source = ? and delivery_date <= ? group by delivery_date
            ), latest as (
                select * from {TABLE} where source = ?
                qualify row_number() over (partition by delivery_date order by decided_at desc) = 1
            )
            select l.delivery_date, l.loaded_at, v.passed, v.decided_by, v.reason, v.decided_at
            from loads l left join latest v
              on v.delivery_date = l.delivery_date and v.loaded_at = l.loaded_at
            order by l.delivery_date""",
            [source, up_to, source],
        ).fetchall()
    return [DeliveryState(*row) for row in rows]


def record_verdicts(
    settings: Settings,
    source: str,
    states: list[DeliveryState],
    passed: bool,
    decided_by: str,
    reason: str,
    run_id: str | None = None,
) -> None:
    """Append one verdict per delivery (for the load each state describes)."""
    rows = [(source, s.delivery_date, s.loaded_at, passed, decided_by, reason, run_id, _now()) for s in states]
    if not rows:
        return
    with connect(settings) as con:
        con.execute(_DDL)
        con.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def accept_drop(settings: Settings, source: str, delivery_date: date, reason: str) -> str:
    """The operator's override: accept the current load of a delivery that failed its gate."""
    if not reason.strip():
        raise ValueError("accept-drop needs a --reason (it is kept in the audit table)")
    state = next(
        (s for s in delivery_states(settings, source, delivery_date) if s.delivery_date == delivery_date), None
    )
    if state is None:
        raise ValueError(
            f"no loaded delivery of {source} for {delivery_date} in {LOAD_AUDIT.relation}; "
            "nothing to accept (run `xrec ingest` or `xrec run` first)"
        )
    record_verdicts(settings, source, [state], True, f"accept-drop by {getpass.getuser()}", reason.strip())
    before = (
        "failed its raw gate"
        if state.passed is False
        else ("had already passed" if state.passed else "had not been judged yet")
    )
    message = (
        f"accepted {source} {delivery_date} (loaded {state.loaded_at:%Y-%m-%d %H:%M:%S} "
        f"UTC; it {before}); recorded in {TABLE}: {reason.strip()}"
    )
    log.warning("%s", message)
    return message


def blocked_message(source: str, blocked: list[DeliveryState], run_date: date) -> str:
    lines = [
        f"{source}: the run for {run_date} would use {len(blocked)} earlier delivery(ies) "
        "that failed their raw gate and were not re-delivered:"
    ]
    for state in blocked:
        reason = " ".join(line.strip() for line in (state.reason or "").splitlines()[:2])
        lines.append(
            f"  {source} {state.delivery_date}: failed on {state.decided_at:%Y-%m-%d %H:%M} UTC ({reason[:400]})"
        )
    lines.append(
        f"  Re-deliver the drop (a corrected file replaces it), or accept it as it is: "
        f"xrec accept-drop --source {source} --date {blocked[0].delivery_date} "
        "--reason '...'"
    )
    return "\n".join(lines)
