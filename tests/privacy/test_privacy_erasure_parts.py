from datetime import date

import duckdb
import pandas as pd

from xrec.cli import main
from xrec.config import Settings
from xrec.privacy.erasure import ERASE, FORGET, Person, _purge_listings, predicate
from xrec.publish.files import purge_snapshot, snapshot_path
from xrec.quality.quarantine import write_listing


def test_xrec_forget_records_a_request_for_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setenv("XREC_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert main(["forget", "--user-id", "U00000007", "--user-id", " U00000009 "]) == 0
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute(f"select user_id, requested_by from {FORGET} order by 1").fetchall() == [
            ("U00000007", "xrec forget"),
            ("U00000009", "xrec forget"),
        ]


def test_quarantine_listings_lose_the_erased_persons_rows(tmp_path):
    settings = Settings.from_env({"XREC_ARTIFACTS": str(tmp_path)})
    columns = ["entity", "rule", "source_file", "source_line", "record_key", "column_name", "bad_value"]
    rows = pd.DataFrame(
        [
            ["users", "range:birth_year", "platform/x/users.csv", 3, "U1", "birth_year", "1800"],
            ["users", "malformed_row", "platform/x/users.csv", 4, None, None, "U2,a@b.c,1"],
            ["users", "range:birth_year", "platform/x/users.csv", 5, "U3", "birth_year", "1801"],
        ],
        columns=columns,
    )
    docs = tmp_path / "data_docs"
    write_listing(docs, "platform", date(2026, 11, 3), rows)
    assert _purge_listings(settings, Person(users={"U1", "U2"})) == 1
    kept = pd.read_csv(docs / "quarantine" / "platform" / "2026-11-03.csv", dtype=str)
    assert list(kept["record_key"]) == ["U3"]
    assert "U1" not in (docs / "quarantine" / "platform" / "2026-11-03.html").read_text()


def test_rows_are_matched_by_identifier_columns_and_partner_scoped_customer_ids():
    person = Person(users={"U1"}, customers={("realty", "RC1")}, hashes={"a" * 64})
    with duckdb.connect() as con:
        con.execute("create temp table _xrec_erase (erase_kind varchar, erase_source varchar, erase_value varchar)")
        con.executemany("insert into _xrec_erase values (?, ?, ?)", person.rows())
        con.execute("""create table recs as select * from (values
            ('realty', 'U1', 'platform:U1'), ('realty', 'RC1', 'platform:U1'), ('home', 'RC1', 'home:RC1'),
            ('realty', 'U2', 'platform:U2')) v(partner, recipient_id, person_id)""")
        kept = con.execute(
            f"select partner, recipient_id from recs where not ({predicate(['partner', 'recipient_id'])}) order by all"
        ).fetchall()
        # home's customer RC1 is another person: customer ids are only unique within a partner
        assert kept == [("home", "RC1"), ("realty", "U2")]
        assert predicate(["item_id", "title"]) is None


def test_the_snapshot_loses_only_the_persons_rows_and_is_left_alone_without_them(tmp_path):
    settings = Settings.from_env({"XREC_ARTIFACTS": str(tmp_path)})
    path = snapshot_path(settings)
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as snap:
        snap.execute("""create table recs as select * from (values
            ('realty', 'U1', 'I1'), ('realty', 'U2', 'I1'), ('home', 'U1', 'I2')) v(partner, recipient_id, item_id)""")
        snap.execute("create table items as select * from (values ('I1'), ('I2')) v(item_id)")
        snap.execute("create view realty_recs as select * from recs where partner = 'realty'")
    with duckdb.connect() as con:
        con.execute(f"create temp table {ERASE} (erase_kind varchar, erase_source varchar, erase_value varchar)")
        con.executemany(f"insert into {ERASE} values (?, ?, ?)", Person(users={"U1"}).rows())
        assert purge_snapshot(con, settings, predicate) == 2
        inode = path.stat().st_ino
        assert purge_snapshot(con, settings, predicate) == 0
        assert path.stat().st_ino == inode  # nothing to delete: the file was not rewritten
    with duckdb.connect(str(path), read_only=True) as snap:
        assert snap.execute("select partner, recipient_id from recs").fetchall() == [("realty", "U2")]
        assert snap.execute("select count(*) from items").fetchone() == (2,)
        assert snap.execute("select recipient_id from realty_recs").fetchall() == [("U2",)]
