"""Raw ingest: landing drops -> ``raw.<source>__<entity>``, with audit and quarantine.

See docs/interfaces.md ("raw schema") and :mod:`xrec.ingest.entities` for the rules.
"""

from xrec.ingest.errors import IngestError
from xrec.ingest.load import IngestSummary, ingest_source

__all__ = ["IngestError", "IngestSummary", "ingest_source"]
