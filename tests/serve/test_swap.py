"""A newly published model replaces the served one under load, losing no request; a person
erased before that publish is unknown afterwards."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import duckdb
import httpx
from server_helpers import RUN_DATE, TOKENS, build_and_publish, start_server, stop_server

P2P = "platform_to_partner"


def _erase(settings, person_id: str) -> None:
    """What erasure leaves in the marts: the person gone from every ML mart."""
    with duckdb.connect(str(settings.warehouse)) as con:
        for table in ("ml_persons", "ml_recipients", "ml_interactions", "ml_person_features"):
            con.execute(f"delete from marts.{table} where person_id = ?", [person_id])


def test_a_new_model_is_served_without_a_lost_request(copy_of_published, tmp_path):
    settings = copy_of_published
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        (erased_user, erased_person), (kept_user,) = (
            con.execute(
                "select recipient_id, person_id from marts.ml_recipients where recipient_source = "
                "'platform' order by recipient_id limit 1"
            ).fetchone(),
            con.execute(
                "select recipient_id from marts.ml_recipients where recipient_source = 'platform' "
                "order by recipient_id desc limit 1"
            ).fetchone(),
        )
    server = start_server(settings, tmp_path)
    headers = {"Authorization": f"Bearer {TOKENS['platform']}"}
    try:
        with httpx.Client(base_url=server.url, headers=headers) as http:
            assert http.get(f"/v1/recommendations/{P2P}/realty/{erased_user}").status_code == 200
            old_version = http.get("/v1/model").json()["model_version"]

        stop = threading.Event()
        seen: dict[int, list[tuple[int, str | None]]] = defaultdict(list)

        def hammer(worker: int) -> None:
            with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
                while not stop.is_set():
                    if worker % 2:
                        response = http.get(f"/v1/recommendations/{P2P}/realty/{kept_user}")
                    else:
                        response = http.post(
                            "/v1/recommendations/score",
                            json={
                                "direction": P2P,
                                "partner": "home",
                                "recipient_id": kept_user,
                                "interactions": [{"source": "platform", "item_id": "c1", "event_type": "view"}],
                            },
                        )
                    version = response.json().get("model_version") if response.status_code == 200 else None
                    seen[worker].append((response.status_code, version))

        workers = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        try:
            _erase(settings, erased_person)
            build_and_publish(settings, RUN_DATE)  # the marts changed: a new model version
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(
                v not in (None, old_version) for runs in seen.values() for _, v in runs[-3:]
            ):
                time.sleep(0.2)
            time.sleep(1)
        finally:
            stop.set()
            for worker in workers:
                worker.join()

        statuses = [status for runs in seen.values() for status, _ in runs]
        assert statuses and set(statuses) == {200}, f"failed requests: {sorted(set(statuses))}"
        for runs in seen.values():
            versions = [v for _, v in runs]
            switched = versions.index(next(v for v in versions if v != old_version))
            assert set(versions[:switched]) == {old_version} and old_version not in versions[switched:]
        with httpx.Client(base_url=server.url, headers=headers) as http:
            assert http.get(f"/v1/recommendations/{P2P}/realty/{erased_user}").status_code == 404
            response = http.post(
                "/v1/recommendations/score", json={"direction": P2P, "partner": "realty", "recipient_id": erased_user}
            )
            assert response.status_code == 404
            assert erased_person not in http.get(f"/v1/recommendations/{P2P}/realty/{kept_user}").text
    finally:
        stop_server(server)
