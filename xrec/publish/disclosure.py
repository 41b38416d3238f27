"""What may leave the platform for one partner: the single place that decides (ARCHITECTURE.md 15).

For a published run and a partner, exactly three things, each a query over the warehouse:

- ``courses_for_customers``: the partner's own customers, keyed by the partner's own
  ``customer_id``, and the platform courses recommended to them (CONTRACT.md "What comes out").
- ``leads``: platform users whose consent in force (``marts.privacy_consents``, the latest
  ``share_with``) names this partner or ``*``, and the partner's items recommended to them,
  keyed by a pseudonym: HMAC-SHA256 of the user under the partner's own key
  (:mod:`xrec.privacy.keys`). Never a user_id, never a contact hash; two partners' pseudonyms
  for one person differ, and nobody without the key can recompute one from a phone number.
  A platform user who also is the partner's customer but has not consented is not a lead:
  that the person uses the platform is itself the platform's to keep.
- ``audience_counts``: everyone the partner's items were recommended to, counted per item,
  per item and city, per item and segment; a group under ``XREC_MIN_AUDIENCE`` recipients is
  left out (suppressed, not rounded).

``withheld`` says, in counts only, what was kept back and why; it goes into the manifest.
xrec.publish.exports writes these queries to files and nothing else: no other code path may
put rows in an export folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from xrec.catalog import PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.privacy.keys import PartnerKey
from xrec.publish.catalog import CROSS_RECOMMENDATIONS, exists

log = logging.getLogger(__name__)

CONSENTS = "marts.privacy_consents"
PERSONS = "marts.dim_person"
PSEUDONYMS = "_disclosure_pseudonyms"
PSEUDONYM_OF = "platform_user:"  # namespaced, so a pseudonym of a user can never equal one of another kind

_COURSES_FOR_CUSTOMERS = f"""
select recipient_id as customer_id, item_id as course_id, rank, score, variant, model_version, reason
from {CROSS_RECOMMENDATIONS.relation}
where run_date = $run_date and partner = $partner and direction = '{PARTNER_TO_PLATFORM}'
order by customer_id, rank, course_id
"""

_AUDIENCE = f"""
select c.recipient_id, c.item_id, c.rank, c.score, c.variant, c.person_id
from {CROSS_RECOMMENDATIONS.relation} as c
where c.run_date = $run_date and c.partner = $partner and c.direction = '{PLATFORM_TO_PARTNER}'
"""


def _consented(consents_exist: bool) -> str:
    """The audience rows of consenting users (none when consent was never delivered)."""
    if not consents_exist:
        return f"select * from ({_AUDIENCE}) where false"
    return (
        f"select a.* from ({_AUDIENCE}) as a join {CONSENTS} as k "
        f"on k.user_id = a.recipient_id and k.partner = $partner"
    )


_LEADS = """
select p.lead_id, l.item_id, l.rank, l.score, l.variant
from ({consented}) as l join {pseudonyms} as p on p.user_id = l.recipient_id
order by p.lead_id, l.rank, l.item_id
"""

_AUDIENCE_GROUPS = """
with audience as (
    select a.recipient_id, a.item_id, d.city, d.segment_id
    from ({audience}) as a left join {persons} as d on d.person_id = a.person_id
)
select
    case when grouping(city) = 0 then 'item_city' when grouping(segment_id) = 0 then 'item_segment'
        else 'item' end as breakdown,
    item_id, city, segment_id, count(distinct recipient_id) as recipients
from audience
group by grouping sets ((item_id), (item_id, city), (item_id, segment_id))
"""

_NO_PERSONS = "(select null::varchar as person_id, null::varchar as city, null::integer as segment_id where false)"


@dataclass(frozen=True)
class ExportQuery:
    stem: str  # file name without extension
    sql: str
    params: dict


@dataclass(frozen=True)
class Disclosure:
    partner: str
    key_id: str
    min_audience: int
    queries: tuple[ExportQuery, ...]
    withheld: list[dict] = field(default_factory=list)


def disclose(
    con: duckdb.DuckDBPyConnection, run_date: date, partner: str, key: PartnerKey, min_audience: int
) -> Disclosure:
    """Decide what ``partner`` receives for ``run_date`` (see the module doc)."""
    params = {"run_date": run_date, "partner": partner}
    consents_exist = exists(con, CONSENTS)
    if not consents_exist:
        log.warning("disclosure %s/%s: %s is missing; nobody counts as consenting", partner, run_date, CONSENTS)
    consented = _consented(consents_exist)
    users = [
        row[0] for row in con.execute(f"select distinct recipient_id from ({consented}) order by 1", params).fetchall()
    ]
    pseudonyms = pd.DataFrame(
        {"user_id": users, "lead_id": [key.pseudonym(PSEUDONYM_OF + user) for user in users]},
        columns=["user_id", "lead_id"],
        dtype=object,
    )
    con.register(PSEUDONYMS, pseudonyms)

    persons = PERSONS if exists(con, PERSONS) else _NO_PERSONS
    groups = _AUDIENCE_GROUPS.format(audience=_AUDIENCE, persons=persons)
    group_params = {**params, "min_audience": min_audience}
    queries = (
        ExportQuery("courses_for_customers", _COURSES_FOR_CUSTOMERS, params),
        ExportQuery("leads", _LEADS.format(consented=consented, pseudonyms=PSEUDONYMS), params),
        ExportQuery(
            "audience_counts",
            f"select * from ({groups}) where recipients >= $min_audience "
            "order by breakdown, item_id, city nulls first, segment_id nulls first",
            group_params,
        ),
    )
    without_consent = con.execute(
        f"select count(distinct recipient_id), count(*) from ({_AUDIENCE}) as a "
        f"where recipient_id not in (select recipient_id from ({consented}))",
        params,
    ).fetchone()
    suppressed = con.execute(
        f"select count(*) from ({groups}) where recipients < $min_audience", group_params
    ).fetchone()[0]
    withheld = [
        {
            "what": "platform users recommended this partner's items without consent to share with it",
            "recipients": without_consent[0],
            "recommendations": without_consent[1],
            "why": "their latest share_with does not name this partner or '*' (CONTRACT.md v2); "
            "they appear only in audience_counts",
        },
        {
            "what": "audience_counts groups",
            "groups": suppressed,
            "why": f"fewer than {min_audience} recipients (XREC_MIN_AUDIENCE): suppressed, not rounded",
        },
    ]
    return Disclosure(partner, key.key_id, min_audience, queries, withheld)


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the pseudonym table registered by :func:`disclose`."""
    con.unregister(PSEUDONYMS)
