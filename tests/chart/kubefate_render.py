"""Render the chart the way KubeFATE does, with Helm's own engine (helm_python).

KubeFATE (``k8s-deploy/pkg/modules/helm_chart_special.go``) executes the chart's ``values-template.yaml``
as a Go template with the parsed cluster yaml as ``.``, parses the output as YAML and passes
it to ``helm install`` as user-supplied values. Here the same execution is reproduced
with a throw-away chart whose only template is ``{{ tpl .Values.t .Values.s }}``. KubeFATE
also rebuilds the chart without ``values.schema.json`` before installing; ``schema=False``
reproduces that.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from helm_python.chart import Chart

CHART_DIR = Path(__file__).resolve().parents[2] / "charts" / "openfl-envoy"
DIRECTOR_CHART_DIR = CHART_DIR.parent / "openfl-director"
RELEASE_NAMESPACE = "openfl-envoy-1"

_TPL_CHART_YAML = "apiVersion: v2\nname: kubefate-values-template\nversion: 0.0.1\n"
_TPL_TEMPLATE = "{{ tpl .Values.t .Values.s }}"


@cache
def _tpl_chart() -> Chart:
    # Helm loads the chart into memory: the directory is gone once loaded.
    with tempfile.TemporaryDirectory(prefix="kubefate-tpl-") as name:
        directory = Path(name)
        (directory / "templates").mkdir()
        (directory / "Chart.yaml").write_text(_TPL_CHART_YAML)
        (directory / "templates" / "values.yaml").write_text(_TPL_TEMPLATE)
        return Chart.load(directory)


@cache
def chart(schema: bool = True, chart_dir: Path = CHART_DIR) -> Chart:
    """The chart as Helm loads it; without its schema when ``schema`` is false (KubeFATE)."""
    if schema:
        return Chart.load(chart_dir)
    with tempfile.TemporaryDirectory(prefix=f"{chart_dir.name}-noschema-") as name:
        directory = Path(name) / chart_dir.name
        shutil.copytree(chart_dir, directory)
        (directory / "values.schema.json").unlink()
        return Chart.load(directory)


def values_template_text(chart_dir: Path = CHART_DIR) -> str:
    return (chart_dir / "values-template.yaml").read_text()


def render_values_template(cluster_spec: dict[str, Any], chart_dir: Path = CHART_DIR) -> str:
    """KubeFATE's step 1: the values-template executed with the cluster yaml as context."""
    rendered = _tpl_chart().render({"t": values_template_text(chart_dir), "s": cluster_spec}, name="kubefate")
    (text,) = rendered.values()
    # KubeFATE removes a literal "<no value>" (missing keys render as zero values).
    return text.replace("<no value>", "")


def cluster_values(cluster_spec: dict[str, Any], chart_dir: Path = CHART_DIR) -> dict[str, Any]:
    """The Helm values KubeFATE would pass for ``cluster_spec``."""
    return yaml.safe_load(render_values_template(cluster_spec, chart_dir)) or {}


def render_chart(
    values: dict[str, Any], *, name: str = "envoy-1", schema: bool = True, chart_dir: Path = CHART_DIR
) -> dict[str, str]:
    """Step 2: the chart rendered with the values, as ``helm install <name>`` would."""
    return chart(schema, chart_dir).render(values, name=name, namespace=RELEASE_NAMESPACE)


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of a render (NOTES.txt and empty documents skipped)."""
    objects = []
    for path, text in sorted(rendered.items()):
        if not path.endswith(".yaml"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def render_cluster(
    cluster_yaml: str, *, schema: bool = True, chart_dir: Path = CHART_DIR
) -> dict[tuple[str, str], dict[str, Any]]:
    """Cluster yaml text -> {(kind, name): object}, exactly through KubeFATE's two steps."""
    spec = yaml.safe_load(cluster_yaml)
    values = cluster_values(spec, chart_dir)
    rendered = render_chart(values, name=spec.get("name") or "unnamed", schema=schema, chart_dir=chart_dir)
    return {(obj["kind"], obj["metadata"]["name"]): obj for obj in manifests(rendered)}
