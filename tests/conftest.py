"""Shared fixtures: a real local Venice-compatible server and the OpenAPI spec as a validator.

``local_server``  a fresh, started ``LocalServer()`` per test (stopped afterwards).
``openapi_spec``  the spec subset ``tests/data/venice-openapi-image.yaml`` as a dict (session).
``spec_validator`` ``validate(instance, schema)``; ``schema`` is a component name
                  ("DetailedError"), a ``#/...`` JSON pointer into the spec, or a subschema dict.
                  ``spec_validator.response("/image/generate", 200)`` returns a response schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from shared_data import SPEC_PATH

from venice_nb.server import LocalServer


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def openapi_spec() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="pyyaml is needed to read the OpenAPI spec")
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class SpecValidator:
    """Validate instances against pieces of the OpenAPI 3.0 spec, resolving ``$ref`` into it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from openapi_schema_validator import OAS30Validator

        self.spec = spec
        self._cls = OAS30Validator

    def __call__(self, instance: Any, schema: str | dict[str, Any]) -> None:
        """Raise ``jsonschema.ValidationError`` if ``instance`` does not match ``schema``."""
        if isinstance(schema, str):
            ref = schema if schema.startswith("#") else f"#/components/schemas/{schema}"
            schema = {"$ref": ref}
        # The spec's own sections travel along as the root document so "#/..." refs resolve.
        root = {"components": self.spec["components"], "paths": self.spec["paths"], **schema}
        self._cls(root).validate(instance)

    def response(
        self, path: str, status: int | str, method: str = "post", content: str = "application/json"
    ) -> dict[str, Any]:
        """The response body schema for ``method path`` answering ``status``."""
        responses = self.spec["paths"][path][method]["responses"]
        return responses[str(status)]["content"][content]["schema"]

    def is_valid(self, instance: Any, schema: str | dict[str, Any]) -> bool:
        from jsonschema import ValidationError

        try:
            self(instance, schema)
        except ValidationError:
            return False
        return True


@pytest.fixture(scope="session")
def spec_validator(openapi_spec: dict[str, Any]) -> SpecValidator:
    pytest.importorskip("openapi_schema_validator", reason="openapi-schema-validator not installed")
    return SpecValidator(openapi_spec)


# ---- a shared IPython shell per module (the magic tests) ------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    """One LocalServer for a whole module whose tests share one IPython shell (``ip``)."""
    with LocalServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def ip(server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An InteractiveShell with venice_nb loaded, aimed at this module's ``server``."""
    from magics_harness import magic_shell

    with magic_shell(server, tmp_path_factory.mktemp("shell")) as shell:
        yield shell


@pytest.fixture
def panel(local_server: LocalServer, tmp_path: Any) -> Iterator[Any]:
    """A panel that has made one picture (seed 42, 512 px) through the local server; the panel's
    tile and toolbox tests start from it (test_panel.py has its own, unstarted)."""
    from factories import live_session

    from venice_nb.panel.app import Panel

    session = live_session(local_server.base_url, tmp_path / "saved", "panel-test-key-0123456789")
    made = Panel(session=session, seed=42, width=512, height=512)
    try:
        made.generate_button.click()
        assert made.wait_idle(20)
        yield made
    finally:
        made.close()
