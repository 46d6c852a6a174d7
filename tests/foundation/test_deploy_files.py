"""The Dockerfile and compose file, checked by reading (no Docker engine runs here; `.ci/run` also
runs `docker-compose config` where the tool exists)."""

from __future__ import annotations

from pathlib import Path

import yaml

from lynkflow.fixtures import FIXTURES_DIR

REPO = Path(__file__).resolve().parents[2]


def test_every_service_of_the_local_image_can_build_it_and_restarts() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    local = {name: s for name, s in services.items() if s.get("image") == "lynkflow:local"}
    assert {"api", "api-b", "worker"} <= set(local)
    for name, service in services.items():
        # One-shot setup services are retried until they succeed, then stay done.
        assert service.get("restart") == ("on-failure" if name == "minio-bucket" else "unless-stopped"), name
        if name in local:
            assert service.get("build") == ".", name
    # The seed named in the compose file is bundled in the installed package.
    seed = local["api"]["environment"]["LYNKFLOW_SEED_FILE"]
    assert (FIXTURES_DIR / seed).is_file()
    # Replicas share one database and run no in-process workers; the worker service does the work.
    assert local["api-b"]["environment"] == local["api"]["environment"]
    assert local["api"]["environment"]["LYNKFLOW_INPROC_WORKERS"] == "0"


def test_media_lives_in_minio_with_its_bucket_made_before_lynkflow_starts() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert services["minio"]["healthcheck"]["test"]
    assert services["minio-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert "mc mb --ignore-existing store/lynkflow" in " ".join(services["minio-bucket"]["entrypoint"])
    for name in ("api", "api-b", "worker"):
        env = services[name]["environment"]
        assert env["LYNKFLOW_STORAGE_URL"] == "s3://lynkflow/media", name
        assert env["LYNKFLOW_S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["AWS_ACCESS_KEY_ID"] == services["minio"]["environment"]["MINIO_ROOT_USER"], name
        assert env["AWS_SECRET_ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_PASSWORD"], name
        assert services[name]["depends_on"]["minio-bucket"]["condition"] == "service_completed_successfully", name


def test_dockerfile_installs_the_package_not_an_editable_checkout() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "pip install -e" not in text and "pip install /tmp/lynkflow-src" in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)
