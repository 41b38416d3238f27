"""Who may ask what: bearer tokens per client, each with one scope.

Scopes: `platform` (the platform's app: lists of any platform user, i.e. the
platform_to_partner direction of every partner) and `partner:<name>` (a partner's CRM: its own
customers only, i.e. partner_to_platform of that partner). Tokens are random 32-byte strings
(`xrec api-token`); only their SHA-256 is configured (XREC_API_TOKENS_FILE / XREC_API_TOKENS),
never the token. A plain hash suffices: the token has 256 bits of entropy, so there is nothing
to brute-force that a slow password hash would protect.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from xrec.catalog import PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.config import PLATFORM, Settings

PARTNER_SCOPE = "partner:"


class TokenConfigError(ValueError):
    """A malformed token line (names where and what is wrong)."""


@dataclass(frozen=True)
class Client:
    name: str
    scope: str

    @property
    def partner(self) -> str | None:
        return self.scope[len(PARTNER_SCOPE) :] if self.scope.startswith(PARTNER_SCOPE) else None

    def may_query(self, direction: str, partner: str) -> bool:
        """The platform app: platform users' lists; a partner: its own customers' lists."""
        if self.scope == PLATFORM:
            return direction == PLATFORM_TO_PARTNER
        return direction == PARTNER_TO_PLATFORM and partner == self.partner


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_line(token: str, client: str, scope: str) -> str:
    """The line to configure for `token` (its hash, never the token)."""
    return f"{hash_token(token)} {client} {scope}"


def load_clients(settings: Settings) -> dict[str, Client]:
    """token hash -> client, from XREC_API_TOKENS_FILE and XREC_API_TOKENS."""
    sources = []
    if settings.api_tokens_file is not None:
        sources += [
            (f"{settings.api_tokens_file}:{n}", line)
            for n, line in enumerate(settings.api_tokens_file.read_text().splitlines(), 1)
        ]
    sources += [(f"XREC_API_TOKENS entry {n}", entry) for n, entry in enumerate(settings.api_tokens.split(";"), 1)]
    clients = {}
    for where, line in sources:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or len(parts[0]) != 64 or not all(c in "0123456789abcdef" for c in parts[0]):
            raise TokenConfigError(f"{where}: expected '<sha256 hex of token> <client> <scope>', got {line[:40]!r}")
        digest, name, scope = parts
        if scope != PLATFORM and not (
            scope.startswith(PARTNER_SCOPE) and scope[len(PARTNER_SCOPE) :] in settings.partners
        ):
            raise TokenConfigError(
                f"{where}: scope {scope!r} is neither 'platform' nor 'partner:<one of {','.join(settings.partners)}>'"
            )
        clients[digest] = Client(name, scope)
    return clients


def authenticate(clients: dict[str, Client], authorization: str | None) -> Client | None:
    """The client of an 'Authorization: Bearer <token>' header, or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    # A dict probe by the token's hash: its timing can tell an attacker only about hashes of
    # tokens they chose, never about a configured token (a compare_digest over every configured
    # hash cost a scan per request for nothing).
    return clients.get(hash_token(authorization[7:].strip()))
