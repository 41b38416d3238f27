"""Sample PII: canonical emails/phones, their raw delivery variants, and the contract hashes.

The normalisation rule is the one the ingest step implements: email -> trim + lowercase;
phone -> digits only, an 11-digit number starting with '1' gets the '86' country code, then
'+' + digits (E.164). The hash is the lowercase hex SHA-256 of the normalised UTF-8 string.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

GIVEN_NAMES = np.array(
    ["wei", "fang", "min", "jing", "lei", "yan", "hao", "xin", "jun", "ting", "qiang", "li", "na", "yu", "chen", "hui"]
)
FAMILY_NAMES = np.array(
    [
        "li",
        "wang",
        "zhang",
        "liu",
        "chen",
        "yang",
        "zhao",
        "huang",
        "zhou",
        "wu",
        "xu",
        "sun",
        "hu",
        "zhu",
        "gao",
        "lin",
    ]
)
DOMAINS = np.array(["example.com", "qq.com", "163.com", "126.com", "foxmail.com", "sina.com"])
MOBILE_PREFIXES = np.array(["13", "15", "18", "19", "17"])
# 3**18 is coprime to 10**9, so (index * it) mod 10**9 is a permutation: phone numbers never
# collide, which would otherwise plant false identity links.
_PHONE_MULTIPLIER = 387_420_489


def canonical_emails(person_index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique lower-case emails, one per person index (the index is part of the local part)."""
    n = len(person_index)
    given = GIVEN_NAMES[rng.integers(0, len(GIVEN_NAMES), n)]
    family = FAMILY_NAMES[rng.integers(0, len(FAMILY_NAMES), n)]
    domain = DOMAINS[rng.integers(0, len(DOMAINS), n)]
    local = pd.Series(given) + "." + pd.Series(family) + pd.Series(person_index).astype(str)
    return (local + "@" + pd.Series(domain)).to_numpy(dtype=object)


def canonical_phones(person_index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique 11-digit mainland mobile numbers (digits only, no country code)."""
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), len(person_index))]
    subscriber = (person_index.astype(np.int64) * _PHONE_MULTIPLIER + 12_345) % 1_000_000_000
    digits = pd.Series(prefix) + pd.Series(subscriber).astype(str).str.zfill(9)
    return digits.to_numpy(dtype=object)


def raw_emails(canonical: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Emails as a platform export delivers them: case and surrounding-whitespace variants."""
    emails = pd.Series(canonical, dtype=object)
    kind = rng.choice(4, size=len(emails), p=[0.6, 0.15, 0.1, 0.15])
    out = emails.copy()
    out[kind == 1] = emails[kind == 1].str.title()
    out[kind == 2] = emails[kind == 2].str.upper()
    out[kind == 3] = "  " + emails[kind == 3] + " "
    return out.to_numpy(dtype=object)


def raw_phones(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Phones in mixed formats: '13800138000', '138 0013 8000', '+86 138-0013-8000', '+86...'."""
    phones = pd.Series(digits, dtype=object)
    a, b, c = phones.str[:3], phones.str[3:7], phones.str[7:]
    variants = [phones, a + " " + b + " " + c, "+86 " + a + "-" + b + "-" + c, "+86" + phones]
    kind = rng.choice(len(variants), size=len(phones), p=[0.4, 0.2, 0.2, 0.2])
    out = variants[0].copy()
    for k in range(1, len(variants)):
        out[kind == k] = variants[k][kind == k]
    return out.to_numpy(dtype=object)


def normalise_email(raw: pd.Series) -> pd.Series:
    """Contract rule: trim and lower-case."""
    return raw.str.strip().str.lower()


def normalise_phone(raw: pd.Series) -> pd.Series:
    """Contract rule: digits only, '86' before an 11-digit number starting with '1', then '+'."""
    digits = raw.str.replace(r"\D", "", regex=True)
    mainland = (digits.str.len() == 11) & digits.str.startswith("1")
    return "+" + digits.where(~mainland, "86" + digits)


def sha256_hex(values: pd.Series | np.ndarray) -> np.ndarray:
    """Lowercase hex SHA-256 of each UTF-8 string; empty strings stay empty (a missing hash)."""
    return np.array(
        [hashlib.sha256(v.encode("utf-8")).hexdigest() if v else "" for v in values],
        dtype=object,
    )
