"""Raw email/phone are hashed on read and never reach a table, a log line or an error."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from conftest import D1, USERS_HEADER, csv_text, query, write_drop

from xrec.ingest import IngestError, ingest_source

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.\w+")
# Mainland mobiles in any delivered format, and the foreign number below; not hex hashes.
PHONE = re.compile(r"(?<![0-9a-f])(1[3-9]\d[ -]?\d{4}[ -]?\d{4}|7946)(?![0-9a-f])")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


USERS = csv_text(
    USERS_HEADER,
    "u1,  Wei.Li7@QQ.com ,138 0013 8000,sh,1985,M,2024-04-01,a,2024-04-01",
    "u2,wei.li7@qq.com,+86 138-0013-8000,sh,1985,M,2024-04-01,a,2024-04-01",
    "u3,,,sh,1985,M,2024-04-01,a,2024-04-01",
    "u4,x@y.com,+44 20 7946 0958,sh,1985,X,2024-04-01,a,2024-04-01",  # enum:gender
    "u5,bad@row.com,13800138000,sh,1985,M,2024-04-01,a,2024-04-01,extra",  # malformed
)


def test_email_and_phone_are_normalised_then_hashed(settings):
    write_drop(settings, "platform", D1, {"users.csv": USERS})
    ingest_source(settings, "platform", D1)
    rows = query(settings, "SELECT user_id, email_sha256, phone_sha256 FROM raw.platform__users ORDER BY 1")
    same = (sha("wei.li7@qq.com"), sha("+8613800138000"))
    assert rows == [("u1", *same), ("u2", *same), ("u3", None, None)]
    columns = [
        r[0]
        for r in query(
            settings, "SELECT column_name FROM information_schema.columns WHERE table_name = 'platform__users'"
        )
    ]
    assert "email" not in columns and "phone" not in columns


def test_no_raw_pii_in_any_table_or_log(settings, caplog):
    write_drop(settings, "platform", D1, {"users.csv": USERS})
    with caplog.at_level(logging.DEBUG):
        ingest_source(settings, "platform", D1)
    assert not EMAIL.search(caplog.text) and not PHONE.search(caplog.text)
    columns = query(
        settings,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'",
    )
    assert len(columns) > 20
    for schema, table, column in columns:
        values = [
            v for (v,) in query(settings, f'SELECT "{column}" FROM {schema}."{table}" WHERE "{column}" IS NOT NULL')
        ]
        leaks = [v for v in values if EMAIL.search(v) or PHONE.search(v)]
        assert not leaks, f"{schema}.{table}.{column} holds raw PII: {leaks}"


def test_errors_never_quote_raw_pii(settings):
    header_only = csv_text("user_id,email,city")
    write_drop(settings, "platform", D1, {"users.csv": header_only + "u1,a@b.com,sh\n"})
    with pytest.raises(IngestError) as error:
        ingest_source(settings, "platform", D1)
    assert not EMAIL.search(str(error.value))
