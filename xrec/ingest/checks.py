"""The quarantine rules of :mod:`xrec.ingest.entities` as vectorised DuckDB SQL.

Each rule is a boolean SQL expression over the staged VARCHAR columns. One ``CASE`` picks the
first rule a row breaks (its index, NULL for a clean row); a small VALUES table maps the index
to the rule name, the column and the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from xrec.ingest.entities import DELIVERY_YEAR, Column, Entity

RULE_ORDER = ("required", "type", "enum", "range", "future")

_PARSED = {
    "number": "TRY_CAST({v} AS DOUBLE)",
    "integer": "TRY_CAST({v} AS DOUBLE)",
    "timestamp": "TRY_CAST({v} AS TIMESTAMPTZ)",
    "date": "TRY_CAST({v} AS DATE)",
    "boolean": "TRY_CAST({v} AS BOOLEAN)",
}


@dataclass(frozen=True)
class Rule:
    name: str  # e.g. 'range:price'
    column: str
    violated: str  # SQL, true when the row breaks the rule


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(column: Column) -> str:
    """The trimmed value, NULL when empty (empty optional values are soft dirt)."""
    return f"NULLIF(trim({_ident(column.name)}), '')"


def _untypeable(column: Column) -> str:
    value = _value(column)
    parsed = _PARSED[column.kind].format(v=value)
    bad = f"{parsed} IS NULL"
    if column.kind in ("number", "integer"):
        bad = f"({bad} OR NOT isfinite({parsed}))"
    if column.kind == "integer":
        bad = f"({bad} OR {parsed} <> trunc({parsed}))"
    if column.kind in ("timestamp", "date"):
        # ISO 8601 only: DuckDB would also accept words such as 'epoch' or 'infinity'.
        bad = f"({bad} OR NOT regexp_matches({value}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}'))"
    return f"({value} IS NOT NULL AND {bad})"


def _outside_enum(column: Column) -> str:
    allowed = ", ".join(f"'{value}'" for value in column.enum)
    value = f"lower({_value(column)})"
    if column.enum_allows_empty:
        return f"({value} NOT IN ({allowed}))"
    return f"(coalesce({value}, '') NOT IN ({allowed}))"


def _out_of_range(column: Column, delivery_date: date) -> str:
    number = f"TRY_CAST({_value(column)} AS DOUBLE)"
    upper = delivery_date.year if column.max == DELIVERY_YEAR else column.max
    bounds = []
    if column.min is not None:
        bounds.append(f"{number} < {column.min}")
    if upper is not None:
        bounds.append(f"{number} > {upper}")
    return "(" + " OR ".join(bounds) + ")"


def _in_future(column: Column, delivery_date: date) -> str:
    # End of the drop's date in Asia/Shanghai; offset-less values are read as Shanghai time
    # because the ingest session runs with TimeZone = 'Asia/Shanghai'.
    end = f"TIMESTAMPTZ '{delivery_date + timedelta(days=1)} 00:00:00+08:00'"
    return f"(TRY_CAST({_value(column)} AS TIMESTAMPTZ) >= {end})"


def rules_for(entity: Entity, present: set[str], delivery_date: date) -> list[Rule]:
    """The entity's rules for a file with the ``present`` columns, in precedence order."""
    columns = entity.checked_columns(present)
    rules: list[Rule] = []
    for step in RULE_ORDER:
        for column in columns:
            if step == "required" and column.required:
                rules.append(Rule(f"required:{column.name}", column.name, f"({_value(column)} IS NULL)"))
            elif step == "type" and column.kind != "text":
                rules.append(Rule(f"type:{column.name}", column.name, _untypeable(column)))
            elif step == "enum" and column.enum:
                rules.append(Rule(f"enum:{column.name}", column.name, _outside_enum(column)))
            elif step == "range" and (column.min is not None or column.max is not None):
                rules.append(Rule(f"range:{column.name}", column.name, _out_of_range(column, delivery_date)))
            elif step == "future" and column.not_future:
                rules.append(Rule(f"future:{column.name}", column.name, _in_future(column, delivery_date)))
    return rules


def first_violation_sql(rules: list[Rule]) -> str:
    """SQL giving the index of the first rule the row breaks, NULL when it breaks none."""
    if not rules:
        return "CAST(NULL AS INTEGER)"
    whens = " ".join(f"WHEN {rule.violated} THEN {i}" for i, rule in enumerate(rules))
    return f"CASE {whens} END"


def bad_value_sql(rules: list[Rule], index: str) -> str:
    """SQL giving the offending value of the rule numbered by the ``index`` expression."""
    if not rules:
        return "CAST(NULL AS VARCHAR)"
    whens = " ".join(f"WHEN {i} THEN {_ident(rule.column)}" for i, rule in enumerate(rules))
    return f"CASE {index} {whens} END"


def rules_values_sql(rules: list[Rule]) -> str:
    """A VALUES table ``(rule_index, rule, column_name)`` for joining rule indexes to names."""
    if not rules:
        return "SELECT NULL::INTEGER AS rule_index, NULL AS rule, NULL AS column_name LIMIT 0"
    rows = ", ".join(f"({i}, '{rule.name}', '{rule.column}')" for i, rule in enumerate(rules))
    return f"SELECT * FROM (VALUES {rows}) AS r(rule_index, rule, column_name)"
