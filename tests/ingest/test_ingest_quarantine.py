"""Hard contract violations are quarantined with their rule, line and value; soft dirt passes."""

from __future__ import annotations

import pytest
from conftest import (
    CUSTOMERS_HEADER,
    D1,
    EVENTS_HEADER,
    INTERACTIONS_HEADER,
    ITEMS_HEADER,
    OUTCOMES_HEADER,
    USERS_HEADER,
    csv_text,
    quarantine,
    query,
    write_drop,
)

from xrec.ingest import ingest_source

TS = "2024-05-01T10:00:00+08:00"


def test_platform_rules(settings):
    events = csv_text(
        EVENTS_HEADER,
        f"e1,u1,c1,view,,,{TS}",  # 2 clean
        f"e2,u1,c1, PURCHASE ,,12.5,{TS}",  # 3 case/space variant: soft dirt
        f"e3,u1,c1,share,,,{TS}",  # 4 enum:event_type
        f"e4,u1,c1,rate,9,,{TS}",  # 5 range:rating
        f"e5,u1,c1,purchase,,-3,{TS}",  # 6 range:amount
        "e6,u1,c1,view,,,2024-05-02 00:00:00",  # 7 future:occurred_at (Shanghai)
        "e7,u1,c1,view,,,2024-05-01T23:59:59+08:00",  # 8 clean: still that day
        "e8,u1,c1,view,,,2024-05-01T16:30:00Z",  # 9 future: 00:30 in Shanghai
        "e9,u1,c1,view,,,31/11/2026 09:15",  # 10 type:occurred_at
        f"e10,,c1,view,,,{TS}",  # 11 required:user_id
        f",u1,c1,view,,,{TS}",  # 12 required:event_id
        f"e12,u1,c1,rate,x,,{TS}",  # 13 type:rating
        "e13,u1,c1,share,9,,2031-01-01",  # 14 several: the first rule (enum) wins
        f"e14,u1,c1,view,,,{TS},extra",  # 15 malformed_row
        f"e15,u1,c1,,,,{TS}",  # 16 enum:event_type (empty)
        "e16,u1,c1,view,,,infinity",  # 17 type:occurred_at
    )
    users = csv_text(
        USERS_HEADER,
        f"u1,a@b.cn,,sh,1985,m,{TS},a,{TS}",  # 2 clean (lower-case gender)
        f"u2,,,sh,1899,F,{TS},a,{TS}",  # 3 range:birth_year
        f"u3,,,sh,2025,U,{TS},a,{TS}",  # 4 range:birth_year (after drop year)
        f"u4,,,sh,,X,{TS},a,{TS}",  # 5 enum:gender
        f"u5,,,sh,19x5,,{TS},a,{TS}",  # 6 type:birth_year
        f"u6,,,,,,{TS},a,2024-06-01",  # 7 future:updated_at
    )
    write_drop(settings, "platform", D1, {"events.csv": events, "users.csv": users})
    summary = ingest_source(settings, "platform", D1)
    assert quarantine(settings) == [
        ("events", 4, "e3", "enum:event_type", "event_type", "share"),
        ("events", 5, "e4", "range:rating", "rating", "9"),
        ("events", 6, "e5", "range:amount", "amount", "-3"),
        ("events", 7, "e6", "future:occurred_at", "occurred_at", "2024-05-02 00:00:00"),
        ("events", 9, "e8", "future:occurred_at", "occurred_at", "2024-05-01T16:30:00Z"),
        ("events", 10, "e9", "type:occurred_at", "occurred_at", "31/11/2026 09:15"),
        ("events", 11, "e10", "required:user_id", "user_id", None),
        ("events", 12, None, "required:event_id", "event_id", None),
        ("events", 13, "e12", "type:rating", "rating", "x"),
        ("events", 14, "e13", "enum:event_type", "event_type", "share"),
        ("events", 15, None, "malformed_row", None, "TOO MANY COLUMNS: Expected Number of Columns: 7 Found: 8"),
        ("events", 16, "e15", "enum:event_type", "event_type", None),
        ("events", 17, "e16", "type:occurred_at", "occurred_at", "infinity"),
        ("users", 3, "u2", "range:birth_year", "birth_year", "1899"),
        ("users", 4, "u3", "range:birth_year", "birth_year", "2025"),
        ("users", 5, "u4", "enum:gender", "gender", "X"),
        ("users", 6, "u5", "type:birth_year", "birth_year", "19x5"),
        ("users", 7, "u6", "future:updated_at", "updated_at", "2024-06-01"),
    ]
    assert query(settings, "SELECT event_id, _source_line FROM raw.platform__events ORDER BY _source_line") == [
        ("e1", 2),
        ("e2", 3),
        ("e7", 8),
    ]
    assert summary.rows_loaded == {"events": 3, "users": 1}
    assert summary.rows_quarantined == {"events": 13, "users": 5}
    assert query(
        settings, "SELECT entity, rows_read, rows_loaded, rows_quarantined FROM raw.load_audit ORDER BY 1"
    ) == [("events", 16, 3, 13), ("users", 6, 1, 5)]


def test_partner_rules_including_vertical_columns_and_outcomes(settings):
    items = csv_text(
        ITEMS_HEADER + ",product_type,risk_level,expected_return_pct,min_investment",
        f"f1,Fund,fund,100,,true,{TS},reit,3,4.5,1000",  # 2 clean (empty city)
        f"f2,Fund,fund,-1,,true,{TS},reit,3,4.5,1000",  # 3 range:price
        f"f3,Fund,fund,1,,true,{TS},reit,7,4.5,1000",  # 4 range:risk_level
        f"f4,Fund,fund,1,,maybe,{TS},reit,3,4.5,1000",  # 5 type:is_active
        f"f5,Fund,fund,1,,true,{TS},reit,3,high,1000",  # 6 type:expected_return_pct
    )
    interactions = csv_text(
        INTERACTIONS_HEADER,
        f"x1,k1,f1,inquiry,,{TS}",  # 2 clean
        f"x2,k1,,view,,{TS}",  # 3 required:item_id
        f"x3,k1,f1,click,,{TS}",  # 4 enum:event_type
    )
    outcomes = csv_text(
        OUTCOMES_HEADER,
        f"k1,f1,2024-04-30,click,{TS}",  # 2 clean
        f"k1,f1,30/04/2024,click,{TS}",  # 3 type:recommended_on
        f"k1,f1,2024-04-30,view,{TS}",  # 4 enum:event_type
        f"k1,f1,2024-05-02,click,{TS}",  # 5 future:recommended_on (after the drop's date)
    )
    customers = csv_text(CUSTOMERS_HEADER, f"k1,,,sh,1980,{TS}", f"k2,,,sh,1700,{TS}")
    write_drop(
        settings,
        "finance",
        D1,
        {"items.csv": items, "interactions.csv": interactions, "outcomes.csv": outcomes, "customers.csv": customers},
    )
    ingest_source(settings, "finance", D1)
    assert quarantine(settings) == [
        ("customers", 3, "k2", "range:birth_year", "birth_year", "1700"),
        ("interactions", 3, "x2", "required:item_id", "item_id", None),
        ("interactions", 4, "x3", "enum:event_type", "event_type", "click"),
        ("items", 3, "f2", "range:price", "price", "-1"),
        ("items", 4, "f3", "range:risk_level", "risk_level", "7"),
        ("items", 5, "f4", "type:is_active", "is_active", "maybe"),
        ("items", 6, "f5", "type:expected_return_pct", "expected_return_pct", "high"),
        ("outcomes", 3, "k1:f1:30/04/2024", "type:recommended_on", "recommended_on", "30/04/2024"),
        ("outcomes", 4, "k1:f1:2024-04-30", "enum:event_type", "event_type", "view"),
        ("outcomes", 5, "k1:f1:2024-05-02", "future:recommended_on", "recommended_on", "2024-05-02"),
    ]
    assert query(settings, "SELECT count(*) FROM raw.finance__outcomes") == [(1,)]
    assert query(settings, "SELECT product_type, risk_level FROM raw.finance__items") == [("reit", "3")]


@pytest.mark.parametrize(
    "column, value, rule",
    [
        ("price", "-5", "range:price"),
        ("price", "12 yuan", "type:price"),
        ("updated_at", "2024-05-02T00:00:00+08:00", "future:updated_at"),
    ],
    ids=["negative-price", "unparsable-price", "future-timestamp"],
)
def test_bad_value_is_quarantined_naming_file_line_rule_and_value(settings, column, value, rule):
    # The raw gate relies on this: such a row never reaches raw.<source>__items.
    row = {"item_id": "r2", "title": "loft", "category": "apartment", "price": "8000", "city": ""}
    row |= {"is_active": "true", "updated_at": TS, column: value}
    items = csv_text(ITEMS_HEADER, f"r1,flat,apartment,3500000,shanghai,true,{TS}", ",".join(row.values()))
    write_drop(settings, "realty", D1, {"items.csv": items})

    ingest_source(settings, "realty", D1)

    assert query(settings, "SELECT source_file, source_line, record_key, rule, bad_value FROM raw.quarantine") == [
        ("realty/2024-05-01/items.csv", 3, "r2", rule, value)
    ]
    assert query(settings, "SELECT item_id FROM raw.realty__items") == [("r1",)]


def test_line_numbers_follow_multiline_quoted_chinese_titles(settings):
    items = (
        "\ufeff" + ITEMS_HEADER + "\r\n"
        'i1,"两居室\r\n近地铁, ""精装""",flat,100,上海,true,2024-04-01\r\n'  # lines 2-3
        "\r\n"  # line 4 blank
        'i2,"三行\n\n标题",flat,-5,,true,2024-04-01\r\n'  # lines 5-7
        "i3,plain,flat,1,,true,2024-04-01,extra\r\n"  # line 8
        'i4,"stray ""q",flat,2,,true,2024-04-01\r\n'  # line 9
        'i5,"末行\n无换行",flat,3,,true,2024-04-01'  # lines 10-11
    )
    write_drop(settings, "home", D1, {"items.csv": items})
    ingest_source(settings, "home", D1)
    assert query(settings, "SELECT item_id, title, _source_line FROM raw.home__items ORDER BY _source_line") == [
        ("i1", '两居室\r\n近地铁, "精装"', 2),
        ("i4", 'stray "q', 9),
        ("i5", "末行\n无换行", 10),
    ]
    assert [(r[1], r[3]) for r in quarantine(settings)] == [(5, "range:price"), (8, "malformed_row")]


def test_stray_quote_in_unquoted_field_keeps_line_numbers(settings):
    items = csv_text(
        ITEMS_HEADER,
        'i1,5" screen,tv,1,,true,2024-04-01',
        'i2,"two\nlines",tv,-1,,true,2024-04-01',
        "i3,x,tv,1,,true,2024-04-01",
    )
    write_drop(settings, "home", D1, {"items.csv": items})
    ingest_source(settings, "home", D1)
    assert query(settings, "SELECT item_id, _source_line FROM raw.home__items ORDER BY 1") == [("i1", 2), ("i3", 5)]
    assert [(r[1], r[3]) for r in quarantine(settings)] == [(3, "range:price")]
