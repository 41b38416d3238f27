"""The HTTP API over the published model (FastAPI; OpenAPI at /docs).

Every answer comes from one `ServingModel` read once per request (xrec.serve.state), so a
model switch never mixes two models in one response. Nothing here opens the warehouse.
"""

# No `from __future__ import annotations`: FastAPI resolves the dependencies' annotations at
# runtime, and those of the closures in create_app are not module globals.
from contextlib import asynccontextmanager
from enum import Enum
from typing import Annotated

import msgspec
import yaml
from fastapi import Depends, FastAPI, HTTPException, Path, Query
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from threadpoolctl import threadpool_limits

from ml.explain import Reasons
from xrec.catalog import PARTNER_TO_PLATFORM, PLATFORM_TO_PARTNER
from xrec.config import PLATFORM, Settings
from xrec.serve.access import Client, authenticate, load_clients
from xrec.serve.lookup import MAX_K, MAX_RECIPIENT_ID, LookupFastPath, head_fields, published_answer
from xrec.serve.model import Person, Ranked, ServingModel, UnknownId
from xrec.serve.state import ModelHolder

MAX_INTERACTIONS = 500


class Direction(str, Enum):
    platform_to_partner = PLATFORM_TO_PARTNER
    partner_to_platform = PARTNER_TO_PLATFORM


class Interaction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="'platform' or a partner: whose catalogue item_id belongs to")
    item_id: str
    event_type: str = Field(
        description="an event type of the contract (view, favorite, rate, inquiry, complete, purchase)"
    )


class PersonFeatures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    city: str | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100)
    interests: list[str] = Field(
        default_factory=list, max_length=20, description="topics (as in the catalogue, e.g. real_estate_investing)"
    )
    risk_tolerance: int | None = Field(None, ge=1, le=5)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Direction
    partner: str
    recipient_id: str | None = Field(
        None, description="a known recipient (platform user or the partner's customer); omit for a new person"
    )
    person: PersonFeatures = Field(default_factory=PersonFeatures)  # type: ignore[arg-type]  # pydantic's stub wants a plain callable
    interactions: list[Interaction] = Field(default_factory=list, max_length=MAX_INTERACTIONS)
    k: int = Field(10, ge=1, le=MAX_K)


class Reason(BaseModel):
    zh: str
    en: str
    items: list[dict]


class Recommendation(BaseModel):
    rank: int
    source: str
    item_id: str
    title: str
    score: float
    variant: str
    reason: Reason


class RecommendationList(BaseModel):
    model_version: str
    run_date: str
    direction: Direction
    partner: str
    recipient_id: str | None
    served_from: str
    person: dict | None = None
    recommendations: list[Recommendation]


def _event_weights(settings: Settings) -> dict[str, float]:
    """The event weights of the marts (dbt_project.yml vars: their one owner)."""
    project = yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text())
    return {str(k): float(v) for k, v in project["vars"]["event_weights"].items()}


def create_app(settings: Settings, poll_seconds: float = 2.0) -> FastAPI:
    holder = ModelHolder(settings, poll_seconds)
    clients = load_clients(settings)
    weights = _event_weights(settings)
    bearer = HTTPBearer(auto_error=False, description="a client token (`xrec api-token`)")

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # A request multiplies one person's vector by a catalogue (1 x 66 by 66 x 21k at M): split
        # over OpenBLAS's threads that cost 15x the CPU of one thread here (their hand-offs and
        # spinning), and far more with requests in flight at once; the server wants one.
        threadpool_limits(1, user_api="blas")
        holder.start()
        yield
        holder.stop()

    app = FastAPI(
        title="xrec",
        version="1",
        lifespan=lifespan,
        description="Cross-recommendations with personal reasons, from the published model.",
    )
    app.state.holder = holder
    # Lookups that pass every check are answered before FastAPI's routing (xrec.serve.lookup);
    # the route below answers the rest and documents the endpoint.
    app.add_middleware(LookupFastPath, holder=holder, clients=clients)

    # The dependencies are `async def`: they do no I/O, and a plain `def` would cost each request
    # a hop through Starlette's thread pool per dependency.
    async def client(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Client:
        found = authenticate(clients, f"Bearer {credentials.credentials}" if credentials else None)
        if found is None:
            raise HTTPException(401, "missing or unknown bearer token", headers={"WWW-Authenticate": "Bearer"})
        return found

    async def model() -> ServingModel:
        current = holder.current
        if current is None:
            raise HTTPException(503, f"no model loaded yet ({holder.last_error or 'loading'})")
        return current

    def check_scope(who: Client, direction: str, partner: str) -> None:
        if not who.may_query(direction, partner):
            raise HTTPException(
                403, f"client {who.name!r} (scope {who.scope}) may not query {direction} of partner {partner!r}"
            )

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> dict:
        """A published model is loaded (503 until then)."""
        current = holder.current
        if current is None:
            raise HTTPException(503, f"not ready: {holder.last_error or 'loading the published model'}")
        return {
            "status": "ready",
            "model_version": current.info["model_version"],
            "bundle": current.bundle,
            "last_error": holder.last_error,
        }

    @app.get("/v1/model", tags=["model"])
    async def model_info(
        _who: Annotated[Client, Depends(client)], current: Annotated[ServingModel, Depends(model)]
    ) -> dict:
        """The published model: version, run date, when it was published and loaded, its metrics."""
        info = current.info
        return {
            key: info[key]
            for key in (
                "model_version",
                "run_date",
                "published_at",
                "primary_metric",
                "primary_value",
                "baseline_value",
                "metrics",
                "baseline_metrics",
            )
        } | {"loaded_at": holder.loaded_at, "bundle": current.bundle}

    @app.get(
        "/v1/recommendations/{direction}/{partner}/{recipient_id}",
        tags=["recommendations"],
        response_model=RecommendationList,
    )
    async def published(
        direction: Direction,
        partner: str,
        recipient_id: Annotated[str, Path(max_length=MAX_RECIPIENT_ID)],
        who: Annotated[Client, Depends(client)],
        current: Annotated[ServingModel, Depends(model)],
        k: Annotated[int | None, Query(ge=1, le=MAX_K)] = None,
    ) -> dict | Response:
        """The published daily list of one recipient, with reasons (from memory)."""
        _known_partner(current, partner)
        check_scope(who, direction.value, partner)
        answer = published_answer(current, direction.value, partner, recipient_id, k or current.top_k)
        if answer is not None:  # the list's JSON as built at load: no rendering, no encoding
            return Response(answer, media_type="application/json")
        try:
            ranked = current.published(direction.value, partner, recipient_id, k or current.top_k)
        except UnknownId as error:
            raise HTTPException(404, str(error)) from None
        return _json(_answer(current, ranked, direction, partner, recipient_id, "published"))

    # A plain `def`, run in Starlette's thread pool: numpy releases the GIL for the ranking, so the
    # event loop parses other requests meanwhile and lookups never queue behind a score. Measured at
    # M-scale catalogues (21k items, 64 components): the same ~4.5 ms of server CPU per score as an
    # `async def` doing the work on the loop, and 100/s served where the loop served 51/s on the
    # same loaded machine.
    @app.post("/v1/recommendations/score", tags=["recommendations"], response_model=RecommendationList)
    def score(
        body: ScoreRequest, who: Annotated[Client, Depends(client)], current: Annotated[ServingModel, Depends(model)]
    ) -> dict | Response:
        """Rank now, from the published model: a known recipient from their stored representation plus
        the new interactions; a new person from the stated features and interactions. Every business
        rule applies (owned, inactive, risk suitability, realty city, category cap)."""
        direction = body.direction.value
        _known_partner(current, body.partner)
        check_scope(who, direction, body.partner)
        interactions = []
        for n, event in enumerate(body.interactions):
            if event.event_type not in weights:
                raise HTTPException(
                    422, f"interactions[{n}].event_type {event.event_type!r} is not one of {', '.join(weights)}"
                )
            if who.partner is not None and event.source != who.partner:
                raise HTTPException(
                    403,
                    f"interactions[{n}]: a partner may state interactions with its own "
                    f"items only, not {event.source!r}",
                )
            try:
                interactions.append((current.item_key(event.source, event.item_id), weights[event.event_type]))
            except UnknownId as error:
                raise HTTPException(422, f"interactions[{n}]: {error}") from None
        unknown = [topic for topic in body.person.interests if topic not in current.topics]
        if unknown:
            raise HTTPException(422, f"person.interests: unknown topics {unknown}; known: {sorted(current.topics)}")
        if body.recipient_id is None and not (body.person.city or body.person.interests or interactions):
            raise HTTPException(
                422,
                "a new person needs at least a city, interests or interactions "
                "(or give recipient_id of a known recipient)",
            )
        person = Person(
            city=body.person.city,
            interests=tuple(body.person.interests),
            risk_tolerance=body.person.risk_tolerance,
            interactions=tuple(interactions),
        )
        try:
            ranked = current.score(direction, body.partner, body.recipient_id, person, body.k)
        except UnknownId as error:
            raise HTTPException(404, str(error)) from None
        answer = _answer(current, ranked, body.direction, body.partner, body.recipient_id, "scored")
        ignored = list(ranked.ignored) + (["birth_year"] if body.person.birth_year is not None else [])
        return _json(answer | {"person": {"known": ranked.known, "ignored_features": ignored}})

    return app


def _known_partner(current: ServingModel, partner: str) -> None:
    if partner not in current.partners:
        raise HTTPException(404, f"unknown partner {partner!r}; known: {', '.join(current.partners)}")


def _answer(
    current: ServingModel,
    ranked: Ranked,
    direction: Direction,
    partner: str,
    recipient_id: str | None,
    served_from: str,
) -> dict:
    """A RecommendationList as plain JSON types (reason items as the raw JSON the explainer wrote):
    encoded by `_json`, it skips FastAPI's re-validation against the response model (which stays the
    documented schema)."""
    source = partner if direction == Direction.platform_to_partner else PLATFORM
    recommendations = [
        {
            "rank": i + 1,
            "source": source,
            "item_id": current.item_ids[row],
            "title": current.titles[row],
            "score": float(ranked.scores[i]),
            "variant": ranked.variant,
            "reason": _reason(ranked.reasons, i),
        }
        for i, row in enumerate(ranked.item_rows)
    ]
    return {
        **head_fields(current, direction.value, partner, recipient_id, served_from),
        "recommendations": recommendations,
    }


def _reason(reasons: Reasons, i: int) -> dict:
    return {"zh": str(reasons.zh[i]), "en": str(reasons.en[i]), "items": msgspec.Raw(reasons.items_json[i].encode())}


def _json(answer: dict) -> Response:
    """msgspec encodes faster than json.dumps and embeds the raw reason items without parsing them."""
    return Response(msgspec.json.encode(answer), media_type="application/json")
