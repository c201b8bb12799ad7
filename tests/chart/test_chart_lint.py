"""Helm's own lint (strict) is clean; chart_lint.py gates on it; the docs cover every value."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import helm_python
import kubernetes_validate
import pytest
import yaml
from chart_cluster_specs import MAX_CLUSTER_YAML
from kubefate_render import CHART_DIR, render_cluster

ROOT = CHART_DIR.parents[1]
CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))


def load_chart_lint():
    spec = importlib.util.spec_from_file_location("chart_lint", ROOT / "scripts" / "chart_lint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Values whose contents are passed through as they are (Kubernetes or OpenFL structures).
OPAQUE = {"envoyConfigs", "annotations", "podAnnotations", "nodeSelector", "affinity", "resources"}
OPAQUE |= {"podSecurityContext", "securityContext"}


def leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in OPAQUE:
            keys |= leaf_keys(value, path + ".")
        else:
            keys.add(path)
    return keys


@pytest.mark.parametrize("kube_version", ["v1.25.0", "v1.31.0"])
@pytest.mark.parametrize("values_file", CI_VALUES, ids=lambda path: path.name)
def test_helm_lint_strict_has_no_errors_and_no_warnings(values_file, kube_version):
    values = yaml.safe_load(values_file.read_text())
    report = helm_python.lint(CHART_DIR, values, strict=True, kube_version=kube_version)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] != 1] == []


@pytest.mark.parametrize("kube_version", ["v1.25.0", "v1.31.0"])
@pytest.mark.parametrize("strict", [False, True], ids=["plain", "strict"])
def test_helm_lint_of_bare_defaults_is_clean(strict, kube_version, capfd):
    """The seed's `helm lint ./openfl-envoy` (no values file): no error and no warning. What a
    cluster must give (name, envoy.envoyConfigs) shows as Helm's lint-mode INFO of the templates'
    `fail`; an install without them fails (test_chart_errors)."""
    report = helm_python.lint(CHART_DIR, {}, strict=strict, kube_version=kube_version)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] != 1] == []
    logged = capfd.readouterr().err
    assert "openfl-envoy: name is required" in logged and "openfl-envoy: envoy.envoyConfigs is required" in logged
    assert "warn" not in logged.lower()


def test_chart_lint_script_passes_on_the_chart(capsys):
    assert load_chart_lint().main([str(CHART_DIR)]) == 0
    out = capsys.readouterr().out
    assert "chart-lint" in out and "passed" in out
    assert "k8s 1.25" in out and "k8s 1.31" in out
    for label in ["plain (values.yaml)", *(f"ci/{path.name}" for path in CI_VALUES)]:
        assert f"ok    {label}  k8s 1.31: helm lint --strict" in out


def test_chart_lint_script_fails_when_plain_lint_fails(tmp_path, capsys):
    """A rule back in the schema that values.yaml cannot meet fails the plain lint (the ci values meet it)."""
    broken = tmp_path / "openfl-envoy"
    shutil.copytree(CHART_DIR, broken)
    schema = json.loads((broken / "values.schema.json").read_text())
    schema["required"].append("name")
    (broken / "values.schema.json").write_text(json.dumps(schema))
    assert load_chart_lint().main([str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  plain (values.yaml)" in out and "missing property 'name'" in out
    assert "ok    ci/" in out


def test_chart_lint_script_fails_on_invalid_manifests(tmp_path, capsys):
    broken = tmp_path / "openfl-envoy"
    shutil.copytree(CHART_DIR, broken)
    (broken / "templates" / "psp.yaml").write_text(
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: envoy\nspec: {}\n"
    )
    assert load_chart_lint().main([str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "PodSecurityPolicy" in out


def test_chart_lint_script_fails_on_lint_warnings(tmp_path, capsys):
    broken = tmp_path / "openfl-envoy"
    shutil.copytree(CHART_DIR, broken)
    chart_yaml = (broken / "Chart.yaml").read_text().replace("version: 0.4.0", "version: not-semver")
    (broken / "Chart.yaml").write_text(chart_yaml)
    assert load_chart_lint().main([str(broken)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_chart_lint_script_fails_on_warnings_helm_only_logs(tmp_path, capsys):
    broken = tmp_path / "openfl-envoy"
    shutil.copytree(CHART_DIR, broken)
    # A map default under a value that ci/max-values.yaml sets to text: Helm logs a warning.
    with (broken / "values.yaml").open("a") as values:
        values.write("  envoyConfigs: {}\n")
    assert load_chart_lint().main([str(broken)]) == 1
    assert "cannot overwrite table with non table" in capsys.readouterr().out


def test_chart_lint_script_usage_error(tmp_path):
    assert load_chart_lint().main([str(tmp_path)]) == 2


def test_values_template_example_renders_and_validates():
    text = (CHART_DIR / "values-template-example.yaml").read_text()
    objects = render_cluster(text)
    assert ("Deployment", "envoy") in objects
    for obj in objects.values():
        for version in ("1.25", "1.31"):
            kubernetes_validate.validate(obj, version, strict=True)
    example_keys = leaf_keys(yaml.safe_load(text))
    assert leaf_keys(yaml.safe_load(MAX_CLUSTER_YAML)) <= example_keys


def test_readme_documents_every_value_and_cluster_yaml_key():
    readme = (CHART_DIR / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", readme, re.MULTILINE))
    chart_values = {value for value, _ in documented}
    cluster_keys = {key for _, key in documented}
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert leaf_keys(defaults) | {"name", "envoy.envoyConfigs"} <= chart_values
    spec_keys = leaf_keys(yaml.safe_load(MAX_CLUSTER_YAML)) - {"namespace", "chartName", "chartVersion", "modules"}
    assert spec_keys <= cluster_keys | {"envoy.image", "envoy.imageTag"}
    assert {"envoy.image", "envoy.imageTag"} <= cluster_keys


def test_yamllint_is_told_to_skip_the_values_template():
    first_line = (CHART_DIR / "values-template.yaml").read_text().splitlines()[0]
    assert first_line == "# yamllint disable-file"


def test_packaged_chart_files_exist():
    for name in ("Chart.yaml", "values.yaml", "values.schema.json", "values-template.yaml", "README.md", ".helmignore"):
        assert (CHART_DIR / name).is_file(), name
    assert Path(CHART_DIR / "templates" / "deployment.yaml").is_file()
