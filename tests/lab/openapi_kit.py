"""Validate an answer against the shared OpenAPI subset of VBR's REST API (revision 1.3-rev1).

The subset is OpenAPI 3.0: a schema with ``nullable: true`` also accepts null, and a model with a
``discriminator`` lists its subtypes in ``oneOf`` while each subtype refers back to it in ``allOf``
(a loop for a plain JSON Schema validator). Both are rewritten before validating: the model keeps
its own properties as ``<Name>__base`` (what the subtypes' ``allOf`` now refer to) and dispatches on
the discriminator's value to the subtype it maps to.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).parent.parent / "fixtures" / "vbr-rest-1.3-rev1-subset.json"  # Veeam's, unchanged
_REF = "#/components/schemas/"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def document() -> dict[str, Any]:
    doc = json.loads(SPEC.read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    for name, model in list(schemas.items()):
        disc = model.get("discriminator")
        if not disc:
            continue
        base = {k: v for k, v in model.items() if k not in ("oneOf", "discriminator")}
        schemas[name + "__base"] = base
        prop = disc["propertyName"]
        mapping = {value: target.rsplit("/", 1)[1] for value, target in disc["mapping"].items()}
        branches = [  # a subtype the subset leaves out: nothing of that type conforms
            {
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": {"$ref": _REF + target} if target in schemas else False,
            }
            for value, target in mapping.items()
        ]
        schemas[name] = {"allOf": [{"$ref": _REF + name + "__base"}, *branches]}
        for target in mapping.values():
            for part in schemas.get(target, {}).get("allOf", []):
                if part.get("$ref") == _REF + name:
                    part["$ref"] = _REF + name + "__base"
    return _nullable(doc)


@cache
def _registry() -> Registry:
    return Registry().with_resource("urn:vbr", Resource.from_contents(document(), default_specification=DRAFT202012))


def response_schema(path: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema of an operation's answer with this status (KeyError: not documented)."""
    op = document()["paths"][path][method.lower()]
    response = op["responses"][str(status)]
    if "$ref" in response:
        response = document()["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = copy.deepcopy(response["content"]["application/json"]["schema"])
    return {"$ref": "urn:vbr" + schema["$ref"]} if "$ref" in schema else schema


def error_schema() -> dict[str, Any]:
    return {"$ref": "urn:vbr" + _REF + "Error"}


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError (with the path) when the instance does not conform."""
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(instance)
