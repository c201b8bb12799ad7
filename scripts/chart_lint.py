#!/usr/bin/env python3
"""Lint a chart with Helm's own linter and validate its renders, without a helm binary.

    python scripts/chart_lint.py charts/openfl-envoy

1. ``helm lint --strict`` (helm_python.lint) once per Kubernetes version, plain (values.yaml
   only, as the seed's ``helm lint ./openfl-envoy``) and with the values of every
   ``ci/*-values.yaml`` in the chart: any error or warning fails.
2. The chart rendered with each of those values files: every manifest validated with
   kubernetes-validate (strict: unknown fields are errors) for each Kubernetes version. The
   plain values are linted only: without a cluster's ``name`` and ``envoyConfigs`` the
   templates fail on purpose (a lint only logs that, as INFO).
3. Warnings Helm only logs (to the process's stderr, e.g. "cannot overwrite table with non
   table" when a value's type differs from its default) count as findings too.

Prints one line per check and a summary; exits 1 on any finding, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml
from helm_python.chart import Chart

KUBE_VERSIONS = ("1.25", "1.31")
SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
FAILING = {0, 2, 3}


@contextlib.contextmanager
def native_stderr(lines: list[str]) -> Iterator[None]:
    """Collect what the Helm library writes to file descriptor 2 during the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(line for line in sink.read().decode(errors="replace").splitlines() if line.strip())


def values_files(chart_dir: Path) -> list[Path | None]:
    """None (plain: values.yaml only), then every ci/*-values.yaml."""
    return [None, *sorted((chart_dir / "ci").glob("*-values.yaml"))]


def load_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    return yaml.safe_load(path.read_text()) or {}


def lint(chart_dir: Path, values: dict[str, Any], label: str, kube_version: str) -> list[str]:
    try:
        report = helm_python.lint(chart_dir, values, strict=True, kube_version=f"v{kube_version}.0")
    except helm_python.HelmError as error:
        return [f"{label} k8s {kube_version}: lint could not run: {error}"]
    problems = [f"{label} k8s {kube_version}: lint error: {error}" for error in report.get("errors") or []]
    for message in report.get("messages") or []:
        severity = message.get("severity", 0)
        where = f"{label} k8s {kube_version}: {SEVERITY.get(severity, severity)} {message.get('path')}"
        line = f"{where}: {message.get('error')}"
        if severity in FAILING:
            problems.append(line)
        else:
            print(f"  note  {line}")
    return problems


def manifests(rendered: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            objects.extend((path, doc) for doc in yaml.safe_load_all(text) if doc)
    return objects


def validate(chart_dir: Path, values: dict[str, Any], label: str, kube_version: str) -> tuple[int, list[str]]:
    try:
        chart = Chart.load(chart_dir)
        rendered = chart.render(values, name=values.get("name") or "lint", namespace="lint")
    except helm_python.HelmError as error:
        return 0, [f"{label} k8s {kube_version}: render failed: {error}"]
    problems = []
    objects = manifests(rendered)
    for path, obj in objects:
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{label} k8s {kube_version}: {path} {obj.get('kind')}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            what = f"{obj.get('apiVersion')} {obj.get('kind')}"
            problems.append(f"{label} k8s {kube_version}: {path}: {what} does not exist in Kubernetes {kube_version}")
    return len(objects), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path, help="chart directory, e.g. charts/openfl-envoy")
    parser.add_argument("--kube-version", action="append", dest="kube_versions", help="default: 1.25 and 1.31")
    args = parser.parse_args(argv)
    chart_dir: Path = args.chart
    if not (chart_dir / "Chart.yaml").is_file():
        print(f"chart_lint: {chart_dir} has no Chart.yaml", file=sys.stderr)
        return 2
    kube_versions = tuple(args.kube_versions or KUBE_VERSIONS)
    problems: list[str] = []
    checks = 0
    for values_file in values_files(chart_dir):
        label = values_file.relative_to(chart_dir).as_posix() if values_file else "plain (values.yaml)"
        values = load_values(values_file)
        for kube_version in kube_versions:
            logged: list[str] = []
            with native_stderr(logged):
                found = lint(chart_dir, values, label, kube_version)
                count, invalid = validate(chart_dir, values, label, kube_version) if values_file else (0, [])
            for line in logged:
                if "warning" in line.lower():
                    found.append(f"{label} k8s {kube_version}: helm logged: {line}")
                else:
                    print(line, file=sys.stderr)
            checks += 1
            status = "ok" if not (found or invalid) else "FAIL"
            print(f"{status:4}  {label}  k8s {kube_version}: helm lint --strict, {count} manifests validated")
            problems += found + invalid
    for problem in problems:
        print(f"  {problem}")
    verdict = "FAILED" if problems else "passed"
    print(f"chart-lint {chart_dir}: {verdict}: {checks} checks, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
