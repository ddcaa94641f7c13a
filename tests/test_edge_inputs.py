"""Inputs at the edges, sent to every route that takes them: dates near year 1 or 9999 in far
time zones, cursors holding values of the wrong kind. Each gets a clear 422, never a 500.

The bodies are the authorisation matrix's valid ones, with one field replaced, sent by someone
allowed to make the call, so each request reaches the rule it is meant to test."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.ground import assert_problem
from tests.support.matrix import MATRIX

OUT_OF_SPAN_INSTANTS = [
    "0001-01-01T00:00:00+14:00",  # overflows when turned into UTC
    "9999-12-31T23:59:59-14:00",
    "1899-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
]
OUT_OF_SPAN_DAYS = ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"]


def _dated_fields() -> list[tuple[str, str, str, str]]:
    """(method, route, field, value) for every date or date-time field of every request body."""
    import tempfile
    from pathlib import Path

    from api.app import create_app
    from tests.support.ground import test_settings

    with tempfile.TemporaryDirectory() as folder:
        spec = create_app(test_settings(Path(folder))).openapi()
    schemas = spec["components"]["schemas"]
    out = []
    for route, ops in spec["paths"].items():
        for method, op in ops.items():
            ref = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref")
            )
            if not ref:
                continue
            props = schemas[ref.rsplit("/", 1)[-1]].get("properties", {})
            for field, prop in props.items():
                kinds = {prop.get("format")} | {p.get("format") for p in prop.get("anyOf", [])}
                if "date-time" in kinds:
                    out += [(method.upper(), route, field, v) for v in OUT_OF_SPAN_INSTANTS]
                elif "date" in kinds:
                    out += [(method.upper(), route, field, v) for v in OUT_OF_SPAN_DAYS]
    return out


DATED = _dated_fields()


def test_every_dated_field_is_covered():
    routes = {(m, r) for m, r, _, _ in DATED}
    assert ("POST", "/contacts/{contact_id}/messages") in routes
    assert ("POST", "/incidents") in routes
    assert ("POST", "/incidents/{incident_id}/discussion") in routes
    assert routes <= set(MATRIX)


@pytest.mark.parametrize(
    ("method", "route", "field", "value"), DATED, ids=[f"{m} {r} {f}={v}" for m, r, f, v in DATED]
)
def test_dates_outside_the_span_are_refused_plainly(client, scene, method, route, field, value):
    cell = MATRIX[(method, route)]
    url, body = cell.call(scene)
    actor = sorted(cell.allowed)[0]
    response = client.request(
        method, url, json={**body, field: value}, headers=scene.world.auth(actor)
    )
    refused = assert_problem(response, 422)
    assert field in refused["detail"]


def _cursor(key: object) -> str:
    raw = json.dumps({"after": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


ODD_CURSORS = [
    _cursor(["x", 1, 2]),
    _cursor([1, 2, 3]),
    _cursor(["2026-01-01T00:00:00+00:00", {"a": 1}, None]),
    _cursor(["0001-01-01T00:00:00+14:00", "message.sent", 1]),
    _cursor(["not a time", "message.sent", 1]),
    _cursor([None, None, None]),
    _cursor({"at": 1}),
    _cursor(10**30),
    _cursor(-1),
    _cursor(True),
    _cursor("1"),
    "%%%not-base64",
]
PAGED = sorted((m, r) for (m, r) in MATRIX if m == "GET" and not r.endswith("}") and r != "/me")


@pytest.mark.parametrize(("method", "route"), PAGED, ids=[r for _, r in PAGED])
def test_cursors_of_the_wrong_kind_are_refused_plainly(client, scene, method, route):
    cell = MATRIX[(method, route)]
    url, _ = cell.call(scene)
    actor = sorted(cell.allowed)[0]
    for cursor in ODD_CURSORS:
        sep = "&" if "?" in url else "?"
        response = client.get(f"{url}{sep}cursor={cursor}", headers=scene.world.auth(actor))
        if response.status_code == 200:  # a route that takes no cursor ignores it
            continue
        assert_problem(response, 422)


def test_numbers_written_as_text_are_not_read_as_times(client, scene):
    """Found by the schema fuzzing: `?to=-2.2250738585e-313` was read as 1970 and accepted."""
    actor = scene.world.auth("dsl")
    for value in ("-2.2250738585e-313", "1700000000", "1e9", "nan", "inf", "+12.5"):
        refused = client.get("/messages", params={"to": value}, headers=actor)
        assert_problem(refused, 422)


def test_a_query_parameter_an_operation_does_not_take_is_named_not_ignored(client, world):
    """Before: `?limt=5` was silently ignored and the caller got 50 rows, thinking they had 5."""
    answer = client.get("/contacts?limt=5", headers=world.auth("owner"))
    assert answer.status_code == 422
    assert "limt" in answer.text
    assert client.get("/contacts?limit=5", headers=world.auth("owner")).status_code == 200
