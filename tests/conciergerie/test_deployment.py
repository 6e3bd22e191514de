"""The Kubernetes manifests people deploy with stay well-formed and coherent."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes" / "conciergerie.yaml"


def _documents():
    return [doc for doc in yaml.safe_load_all(MANIFESTS.read_text()) if doc]


def test_every_manifest_names_its_kind_api_and_name():
    for doc in _documents():
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        assert doc["metadata"]["name"].startswith("conciergerie")


def test_deployments_select_the_pods_they_create():
    for doc in _documents():
        if doc["kind"] != "Deployment":
            continue
        selector = doc["spec"]["selector"]["matchLabels"]
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), doc["metadata"]["name"]


def test_web_is_probed_and_beat_never_runs_twice():
    by_name = {
        doc["metadata"]["name"]: doc
        for doc in _documents()
        if doc["kind"] == "Deployment"
    }
    web = by_name["conciergerie-web"]["spec"]["template"]["spec"]["containers"][0]

    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert by_name["conciergerie-beat"]["spec"]["replicas"] == 1
    assert by_name["conciergerie-web"]["spec"]["replicas"] >= 2


def test_the_service_points_at_the_web_pods():
    by_kind = {(d["kind"], d["metadata"]["name"]): d for d in _documents()}
    service = by_kind[("Service", "conciergerie-web")]
    web = by_kind[("Deployment", "conciergerie-web")]

    labels = web["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
