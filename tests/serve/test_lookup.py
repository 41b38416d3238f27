"""The lookup fast path (xrec.serve.lookup) answers plain lookups itself and leaves everything else,
errors included, to the FastAPI route (test_api checks over HTTP that both answer alike)."""

from __future__ import annotations

import asyncio
import json

import pandas as pd
import pytest
from server_helpers import TOKENS

from xrec.publish.serving import pointer_path
from xrec.serve.access import Client, hash_token
from xrec.serve.lookup import LookupFastPath, published_answer
from xrec.serve.state import ModelHolder

P2P = "platform_to_partner"


@pytest.fixture(scope="module")
def fast_path(published):
    holder = ModelHolder(published, poll_seconds=60)
    assert holder.refresh()
    clients = {
        hash_token(TOKENS["platform"]): Client("app", "platform"),
        hash_token(TOKENS["partner:realty"]): Client("realty", "partner:realty"),
    }
    folder = published.artifacts / "serving" / json.loads(pointer_path(published).read_text())["bundle"]
    lists = pd.read_parquet(folder / "recommendations.parquet", columns=["direction", "partner", "recipient_id"])
    recipient = lists[(lists["direction"] == P2P) & (lists["partner"] == "realty")]["recipient_id"].iat[0]
    return holder, clients, str(recipient)


def _get(holder, clients, path: str, query: bytes = b"", token: str | None = TOKENS["platform"]):
    """(messages sent, whether the route behind was reached) for one GET through the fast path."""
    reached, sent = [], []

    async def route(scope, receive, send):
        reached.append(scope["path"])

    async def send(message):
        sent.append(message)

    headers = [(b"host", b"test")] + ([(b"authorization", f"Bearer {token}".encode())] if token else [])
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "root_path": "", "headers": headers}
    asyncio.run(LookupFastPath(route, holder, clients)(scope, None, send))
    return sent, bool(reached)


def test_a_plain_lookup_is_answered_without_the_route(fast_path):
    holder, clients, recipient = fast_path
    for query, k in ((b"", holder.current.top_k), (b"k=3", 3)):
        sent, reached = _get(holder, clients, f"/v1/recommendations/{P2P}/realty/{recipient}", query)
        assert not reached
        body = published_answer(holder.current, P2P, "realty", recipient, k)
        assert sent[0]["status"] == 200 and sent[1]["body"] == body
        assert dict(sent[0]["headers"]) == {
            b"content-length": str(len(body)).encode(),
            b"content-type": b"application/json",
        }
        assert len(json.loads(body)["recommendations"]) == k


@pytest.mark.parametrize(
    "path,query,token",
    [
        ("/v1/recommendations/{p2p}/realty/{recipient}", b"k=03", TOKENS["platform"]),  # not the plain form
        ("/v1/recommendations/{p2p}/realty/{recipient}", b"k=0", TOKENS["platform"]),  # 422
        ("/v1/recommendations/{p2p}/realty/{recipient}", b"", None),  # 401
        ("/v1/recommendations/{p2p}/realty/{recipient}", b"", "wrong"),  # 401
        ("/v1/recommendations/{p2p}/realty/{recipient}", b"", TOKENS["partner:realty"]),  # 403
        ("/v1/recommendations/{p2p}/nosuch/{recipient}", b"", TOKENS["platform"]),  # 404
        ("/v1/recommendations/{p2p}/realty/no-such-user", b"", TOKENS["platform"]),  # 404
        ("/v1/recommendations/sideways/realty/{recipient}", b"", TOKENS["platform"]),  # 422
        ("/v1/recommendations/{p2p}/realty/{recipient}/", b"", TOKENS["platform"]),  # not this route
    ],
)
def test_anything_else_goes_to_the_route(fast_path, path, query, token):
    holder, clients, recipient = fast_path
    sent, reached = _get(holder, clients, path.format(p2p=P2P, recipient=recipient), query, token)
    assert reached and not sent
