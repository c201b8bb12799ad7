"""Chart archives for the KubeFATE test double: Helm's own archive checks, KubeFATE's stored fields.

Validation is Helm's (`helm_python` loads the archive, so the error texts are Helm v3's), and
the stored fields are what KubeFATE keeps (§4.1): name, version, appVersion and the raw text of
Chart.yaml, values.yaml, values-template.yaml, values-template-example.yaml and templates/.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from helm_python.chart import Chart
from helm_python.errors import HelmError

from .models import HelmChart, new_uuid


class ChartError(Exception):
    """An upload the real service rejects (HTTP 500 with Helm's text)."""


def _archive_members(data: bytes) -> dict[str, bytes]:
    """Regular files of the archive, with the top-level directory stripped as Helm does."""
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            parts = member.name.lstrip("./").split("/", 1)
            if len(parts) < 2:
                continue
            extracted = archive.extractfile(member)
            if extracted is not None:
                files[parts[1]] = extracted.read()
    return files


def _chart_yaml_at_root(data: bytes) -> bool:
    """Helm rejects an archive whose Chart.yaml has no enclosing directory."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            return any(m.name.lstrip("./") == "Chart.yaml" for m in archive)
    except (tarfile.TarError, OSError, EOFError):
        return False


def parse_upload(data: bytes) -> HelmChart:
    """Validate a `helm package` archive as Helm's LoadArchive does and build the row KubeFATE stores."""
    if _chart_yaml_at_root(data):
        raise ChartError("chart yaml not in base directory")
    try:
        loaded = Chart.load_archive(data)
    except HelmError as error:
        raise ChartError(str(error)) from None
    with loaded:
        metadata = loaded.metadata
    files = _archive_members(data)

    def text(name: str) -> str:
        return files.get(name, b"").decode("utf-8", errors="replace")

    templates = sorted((n, d) for n, d in files.items() if n.startswith("templates/"))
    return HelmChart(
        uuid=new_uuid(),
        name=str(metadata.get("name", "")),
        chart=text("Chart.yaml"),
        values=text("values.yaml"),
        values_template=text("values-template.yaml"),
        values_template_example=text("values-template-example.yaml"),
        templates=templates,
        version=str(metadata.get("version", "")),
        app_version=str(metadata.get("appVersion", "") or ""),
    )


def build_chart(row: HelmChart) -> Chart:
    """KubeFATE's ConvertToChart: only Chart.yaml, values.yaml and templates/ survive (no sub-charts, no schema)."""
    with tempfile.TemporaryDirectory(prefix="kubefate-chart-") as tmp:
        root = Path(tmp) / row.name
        (root / "templates").mkdir(parents=True)
        (root / "Chart.yaml").write_text(row.chart)
        (root / "values.yaml").write_text(row.values)
        for name, data in row.templates:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return Chart.load(root)
