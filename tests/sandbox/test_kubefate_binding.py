"""Contract tests of the KubeFATE test double: request binding and error envelopes (reference §1, §5.1, §6.1, §14)."""

from __future__ import annotations

import datetime as dt

import kubefate_double_support as support
import pytest
from kubefate_double_support import KubeFate, encode, unique

from sandbox.kubefate.gotypes import BindError, go_base64_decode, go_time, parse_spec

# Fixtures shared by the KubeFATE contract tests.
demo_chart, kf, kubefate_server = support.demo_chart, support.kf, support.kubefate_server


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"", "EOF"),
        (b"   \n", "EOF"),
        (b"hello", "invalid character 'h' looking for beginning of value"),
        (b"{", "unexpected EOF"),
        (b'{"name" "x"}', "invalid character '\"' after object key"),
        (b"{name: 1}", "invalid character 'n' looking for beginning of object key string"),
        (b"[]", "json: cannot unmarshal array into Go value of type modules.ClusterArgs"),
        (b'"x"', "json: cannot unmarshal string into Go value of type modules.ClusterArgs"),
    ],
)
def test_unparsable_bodies_are_400(kf: KubeFate, body: bytes, text: str) -> None:
    kf.fails("POST", "/v1/cluster", 400, text, data=body)
    kf.fails("PUT", "/v1/cluster", 400, text, data=body)


@pytest.mark.parametrize(
    ("patch", "text"),
    [
        ({"cover": "true"}, "json: cannot unmarshal string into Go struct field ClusterArgs.cover of type bool"),
        ({"name": 5}, "json: cannot unmarshal number into Go struct field ClusterArgs.name of type string"),
        ({"data": {"a": 1}}, "json: cannot unmarshal object into Go struct field ClusterArgs.data of type []uint8"),
        ({"data": "name: x"}, "illegal base64 data at input byte 4"),
        ({"data": "YQ"}, "illegal base64 data at input byte 0"),
        (
            {"Keep_upgrade_job": 1},
            "json: cannot unmarshal number into Go struct field ClusterArgs.Keep_upgrade_job of type bool",
        ),
    ],
)
def test_wrong_types_and_bad_base64_are_400_with_go_texts(kf: KubeFate, patch: dict, text: str) -> None:
    body = kf.cluster_body(unique(), "nowhere") | patch
    kf.fails("POST", "/v1/cluster", 400, text, json=body)


@pytest.mark.parametrize(
    ("text", "offset"),
    [("a b", 1), ("YQ=", 3), ("Y===", 1), ("YQ==x", 4), ("=", 0), ("YWJj\nZA==", None), ("YWJjZA==", None)],
)
def test_go_base64_offsets(text: str, offset: int | None) -> None:
    if offset is None:
        assert go_base64_decode(text) == b"abcd"
        return
    with pytest.raises(BindError, match=f"^illegal base64 data at input byte {offset}$"):
        go_base64_decode(text)


def test_data_as_a_byte_array_is_accepted(kf: KubeFate, demo_chart: str, namespace: str) -> None:
    """Go also binds []byte from a JSON array of numbers (what swagger shows)."""
    name = unique()
    body = kf.cluster_body(name, namespace)
    body["data"] = list(f'{{"name": "{name}"}}'.encode())
    job = kf.ok("POST", "/v1/cluster", "createCluster Success", json=body)
    assert job["meta_data"]["data"] == encode(f'{{"name": "{name}"}}')
    kf.wait(job["uuid"])


@pytest.mark.parametrize(
    "patch",
    [{"chart_version": ""}, {"chart_name": ""}, {"chartName": "demo", "chart_name": None}],
    ids=["no-version", "no-name", "camelCase"],
)
def test_missing_chart_name_or_version_is_500_chart_version(kf: KubeFate, patch: dict) -> None:
    body = {k: v for k, v in (kf.cluster_body(unique(), "nowhere") | patch).items() if v is not None}
    kf.fails("POST", "/v1/cluster", 500, "chartVersion cannot be empty", json=body)


def test_keys_match_case_insensitively_and_unknown_keys_are_ignored(
    kf: KubeFate, demo_chart: str, namespace: str
) -> None:
    name = unique()
    body = kf.cluster_body(name, namespace)
    body = {"NAME": body["name"], "Namespace": namespace, "Chart_Name": "demo", "CHART_VERSION": "0.1.0"} | {
        "data": body["data"],
        "keep_upgrade_job": True,
        "whatever": [1, 2],
    }
    job = kf.ok("POST", "/v1/cluster", "createCluster Success", json=body)
    assert job["meta_data"] == {
        "name": name,
        "namespace": namespace,
        "chart_name": "demo",
        "chart_version": "0.1.0",
        "cover": False,
        "data": body["data"],
        "Keep_upgrade_job": True,
    }
    kf.wait(job["uuid"])


def test_content_type_is_not_checked(kf: KubeFate) -> None:
    answer = kf.call("POST", "/v1/cluster", data=b'{"name":"x"}', headers={"Content-Type": "text/plain"})
    assert (answer.status_code, answer.json()) == (500, {"error": "chartVersion cannot be empty"})


def test_errors_are_never_404_or_409_json(kf: KubeFate) -> None:
    for path in ("/v1/cluster/nope", "/v1/job/nope", "/v1/chart/nope"):
        kf.fails("GET", path, 500, "record not found")


def test_go_time_format() -> None:
    utc = dt.datetime(2024, 5, 1, 10, 0, 0, 120_000, tzinfo=dt.UTC)
    assert go_time(utc) == "2024-05-01T10:00:00.12Z"
    east = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert go_time(east) == "2024-05-01T10:00:00+08:00"
    assert go_time(None) == "0001-01-01T00:00:00Z"


def test_spec_parsing_is_yaml_to_json() -> None:
    """sigs.k8s.io/yaml: dates stay strings, keys become strings, integral numbers print without `.0`."""
    assert parse_spec("a: 2024-01-01\n1: x\nb: 1.0\nc: yes\n") == {"a": "2024-01-01", "1": "x", "b": 1, "c": True}
    assert parse_spec("") == {}
    with pytest.raises(ValueError, match=r"cannot unmarshal array into Go value of type map\[string\]interface \{\}"):
        parse_spec("- a\n")
    with pytest.raises(ValueError, match=r"^error converting YAML to JSON: yaml: line \d+: "):
        parse_spec("a: [1\n")
