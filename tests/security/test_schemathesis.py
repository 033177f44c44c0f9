"""Schemathesis over the OpenAPI document, against a live server, as a signed-in user: every
operation, no server error, and every answer as documented (status, content type, body,
headers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import NewDatabase, make_settings
from tests.reliability.live import LiveServer, server_env, serving
from todo import migrations
from todo.app import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Operations that end the caller's sessions or account run as a throwaway user each time.
SESSION_ENDING = {("DELETE", "/api/auth/me"), ("POST", "/api/auth/logout-all")}
EXAMPLES = 25


class Api:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.token = self.new_user()

    def new_user(self) -> str:
        response = httpx.post(
            f"{self.server.base_url}/api/auth/signup",
            json={"email": f"fuzz-{uuid.uuid4().hex}@example.com", "password": "fuzz password"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def live_api(new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("schemathesis")
    url = new_database.url()
    migrations.upgrade(make_settings(url, Path(data)))
    with serving(server_env(url, data), data) as server:
        yield Api(server)


def _openapi() -> dict[str, object]:
    # The document the app serves, built without a database: the live server answers the calls.
    app = create_app(make_settings("sqlite+aiosqlite:///unused.db", Path("unused")))
    return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, live_api: Api) -> None:
    if case.path_parameters and "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = "me"
    token = (
        live_api.new_user()
        if (case.method.upper(), case.path) in SESSION_ENDING
        else live_api.token
    )
    case.call_and_validate(
        base_url=live_api.server.base_url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=30,
    )
