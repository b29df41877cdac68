"""The Kubernetes manifests are valid resources (the API's own schemas, strict) and describe the
deployment docs/production.md promises: N app pods of the Docker image with health and readiness
probes, the signing secret from a Secret, no session affinity, Redis inside the cluster only."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from pywry.config import PyWrySettings
from tests.support import ROOT

FOLDER = ROOT / "examples" / "kubernetes"
# the oldest and the newest Kubernetes the validator ships schemas for
VERSIONS = ("1.25.0", kubernetes_validate.latest_version())


def resources() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(FOLDER.glob("*.yaml")):
        docs.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_a_valid_kubernetes_resource(version: str) -> None:
    kinds = []
    for resource in resources():
        kubernetes_validate.validate(resource, version, strict=True)
        kinds.append(resource["kind"])
    assert sorted(kinds) == sorted(
        ["Deployment", "Service", "PodDisruptionBudget", "Deployment", "Service", "NetworkPolicy"]
    )


def test_the_app_runs_several_pods_of_the_docker_image_with_probes() -> None:
    app = find("Deployment", "pywry")
    assert app["spec"]["replicas"] >= 2
    pod = app["spec"]["template"]
    assert app["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    c = container(app)
    tag = c["image"].split(":")[0]
    assert f"-t {tag} " in (ROOT / "examples" / "docker" / "Dockerfile").read_text()
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    port = c["ports"][0]
    assert port["containerPort"] == int(env_of(c)["PYWRY_SERVER__PORT"])
    assert c["livenessProbe"]["httpGet"]["port"] == port["name"]


def env_of(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c["env"] if "value" in e}


def test_the_signing_secret_comes_from_a_secret_and_the_rest_is_valid_pywry_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = container(find("Deployment", "pywry"))
    (secret,) = [e for e in c["env"] if e["name"] == "PYWRY_DEPLOY__AUTH_SECRET"]
    assert set(secret) == {"name", "valueFrom"} and "secretKeyRef" in secret["valueFrom"]
    for key, value in env_of(c).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PYWRY_DEPLOY__AUTH_SECRET", "x" * 64)  # what the Secret holds
    settings = PyWrySettings()
    assert settings.deploy.state_backend.value == "redis" and settings.server.workers >= 1
    assert settings.server.host == "0.0.0.0"  # reachable from the Service, inside the pod
    assert settings.server.allowed_hosts, "bound to every interface: name the public host"
    redis_host = settings.deploy.redis_url.split("//")[1].split(":")[0]
    service = find("Service", redis_host)  # the URL names the Redis Service
    assert service["spec"]["ports"][0]["port"] == 6379


def test_no_session_affinity_and_redis_stays_inside_the_cluster() -> None:
    app_service = find("Service", "pywry")
    assert app_service["spec"].get("sessionAffinity", "None") == "None"
    redis_service = find("Service", "pywry-redis")
    assert redis_service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert "externalIPs" not in redis_service["spec"]
    assert all("nodePort" not in p for p in redis_service["spec"]["ports"])
    redis = find("Deployment", "pywry-redis")
    assert all("hostPort" not in p for p in container(redis)["ports"])
    assert not redis["spec"]["template"]["spec"].get("hostNetwork", False)
    policy = find("NetworkPolicy", "pywry-redis")
    assert policy["spec"]["podSelector"]["matchLabels"] == redis["spec"]["selector"]["matchLabels"]
    (rule,) = policy["spec"]["ingress"]
    app_labels = find("Deployment", "pywry")["spec"]["selector"]["matchLabels"]
    assert rule["from"] == [{"podSelector": {"matchLabels": app_labels}}]
