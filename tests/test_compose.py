"""docker-compose.yml is valid for Debian's docker-compose 1.29 and has the production topology."""

import os
import subprocess

import yaml

from xrec.config import PROJECT_ROOT


def test_compose_file_validates():
    env = {**os.environ, "POSTGRES_PASSWORD": "placeholder", "AIRFLOW_JWT_SECRET": "placeholder"}
    subprocess.run(
        ["docker-compose", "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config", "-q"],
        check=True,
        env=env,
        cwd=PROJECT_ROOT,
    )


def test_compose_has_the_celery_topology_with_a_shared_jwt_secret():
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(services)
    for name, service in services.items():
        if name.startswith("airflow-"):
            env = service["environment"]
            assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
            assert "AIRFLOW_JWT_SECRET" in env["AIRFLOW__API_AUTH__JWT_SECRET"]
            assert "healthcheck" in service or name == "airflow-init"


def test_compose_serves_the_api_from_the_artifacts_only():
    api = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["xrec-api"]
    assert api["command"][0] == "serve" and "/readyz" in " ".join(api["healthcheck"]["test"])
    assert api["volumes"] == ["artifacts:/data/artifacts:ro"]  # no warehouse volume at all
    assert "XREC_WAREHOUSE" not in api["environment"]
