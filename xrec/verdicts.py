"""The errors that are verdicts on the data, not glitches: no retry can change them.

A contract violation (IngestError), a failed quality gate (QualityGateFailed) or a blocked
delivery (DeliveryBlocked) subclass :class:`Verdict`; the DAG fails such a task at once instead
of retrying it (retries are for transient I/O: a full disk, a locked file, a dropped connection).
Light on purpose: the DAG file imports it at parse time.
"""

from __future__ import annotations


class Verdict(Exception):
    """The input (or a gate) says no; fix the data or the rule, then rerun."""
