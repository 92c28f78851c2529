"""infra/k8s/: the Prefect worker chart's values, the work pools' base job templates and
MLflow's manifest parse and carry what a cluster needs (no cluster runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.infra.compose import INFRA, ROOT

K8S = INFRA / "k8s"
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def template(kind: str) -> dict[str, Any]:
    return json.loads((K8S / f"{kind}-job-template.json").read_text())


def container(t: dict[str, Any]) -> dict[str, Any]:
    (c,) = t["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"]
    return c


@pytest.mark.parametrize("kind", ["cpu", "gpu"])
def test_job_template_variables_and_object_store(kind: str) -> None:
    t = template(kind)
    declared = set(t["variables"]["properties"])
    used = set(PLACEHOLDER.findall(json.dumps(t["job_configuration"])))
    assert used <= declared, f"undeclared: {sorted(used - declared)}"
    env = t["variables"]["properties"]["env"]["default"]
    assert env["PICME_LAKE_URI"].startswith("s3://")
    assert env["MLFLOW_TRACKING_URI"].startswith("http://mlflow.")
    assert env["AWS_ENDPOINT_URL"].startswith("http")
    assert not any(re.search("SECRET|PASSWORD", k) for k in env), "a secret in the template"
    c = container(t)
    assert c["envFrom"] == [{"secretRef": {"name": "picme-s3"}}]
    spec = t["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsUser"] != 0 and c["securityContext"]["runAsNonRoot"]
    image = t["variables"]["properties"]["image"]["default"]
    assert re.search(r":\d", image), image


def test_gpu_template_requests_nvidia_gpus() -> None:
    t = template("gpu")
    resources = container(t)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "{{ gpus }}"
    assert resources["requests"]["nvidia.com/gpu"] == "{{ gpus }}"
    gpus = t["variables"]["properties"]["gpus"]
    assert gpus["type"] == "integer" and gpus["default"] >= 1
    spec = t["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]
    assert any(tol["key"] == "nvidia.com/gpu" for tol in spec["tolerations"])
    assert "nvidia.com/gpu" not in json.dumps(template("cpu"))


@pytest.mark.parametrize(("kind", "pool", "queue"), [("cpu", "picme", "default"),
                                                      ("gpu", "picme-gpu", "gpu")])  # fmt: skip
def test_worker_chart_values(kind: str, pool: str, queue: str) -> None:
    path = K8S / f"worker-{kind}-values.yaml"
    worker = yaml.safe_load(path.read_text())["worker"]
    config = worker["config"]
    assert (config["workPool"], config["workQueues"], config["type"]) == (pool, [queue],
                                                                          "kubernetes")  # fmt: skip
    assert worker["apiConfig"] == "selfHostedServer"
    assert worker["selfHostedServerApiConfig"]["apiUrl"].endswith("/api")
    configmap = config["baseJobTemplate"]["existingConfigMapName"]
    # The header's command makes that config map from this kind's template.
    header = path.read_text()
    assert f"create configmap {configmap}" in header
    assert f"baseJobTemplate.json=infra/k8s/{kind}-job-template.json" in header
    assert re.search(r"\d+\.\d+\.\d+", worker["image"]["prefectTag"])
    # The queue exists in prefect.yaml.
    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    assert queue in {d["work_pool"]["work_queue_name"] for d in deployments}


def test_mlflow_manifest_reads_its_secrets_from_files() -> None:
    docs = list(yaml.safe_load_all((K8S / "mlflow.yaml").read_text()))
    assert [d["kind"] for d in docs] == ["Deployment", "Service"]
    pod = docs[0]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    for name, value in env.items():
        if re.search("PASSWORD|SECRET", name):
            assert name.endswith("_FILE") and value.startswith("/run/secrets/mlflow/")
    assert not any("://" in a and "@" in a for a in c["args"])
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["fsGroup"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"


def test_every_k8s_file_parses() -> None:
    files = sorted(K8S.iterdir())
    assert {p.suffix for p in files} <= {".json", ".yaml"}
    for path in files:
        if path.suffix == ".json":
            json.loads(path.read_text())
        else:
            assert list(yaml.safe_load_all(path.read_text())), path


def test_operations_runbook_covers_kubernetes() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    section = doc[doc.index("## Kubernetes") :]
    for topic in ("Install", "Upgrade", "Back up", "Restore", "Rotate", "Scale", "Logs"):
        assert re.search(rf"^#+ .*{topic}", section, re.MULTILINE | re.IGNORECASE), topic
    for path in Path(K8S).iterdir():
        assert f"infra/k8s/{path.name}" in doc, path.name
