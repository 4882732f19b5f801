"""Schemathesis hooks for zhucun's API fuzz step (tests/api/run loads this file through
SCHEMATHESIS_HOOKS).

The sync routes take and give `application/vnd.zhucun.sync+cbor`: CBOR (RFC 8949) compressed
with zstd and sent with `Content-Encoding: zstd` (docs/protocol.md). Schemathesis generates
each body from the document's schema as plain Python values; the serializer here writes them as
CBOR, compresses them and sets the header (unless the document declares it as a header
parameter: then the generated case carries it), so the generated sync requests reach the
server's sync logic instead of all being refused as malformed. The deserializer reads the
answers back, so their schema can be checked too.

Nothing here names a field: byte strings are found through the schema itself. A string the
schema marks as binary (`contentEncoding: binary`, `format: binary` or `format: byte`) goes on
the wire as a CBOR byte string, and a CBOR byte string in an answer is read back as a string
only where the schema says a byte string stands; anywhere else it becomes an object that no
string or number schema accepts, so the conformance check reports it. A document that
describes a sync body only as opaque bytes (`type: string, contentEncoding: binary` for the
whole body) gives the fuzzer nothing to build a message from: such a body goes out as one CBOR
byte string, which the server refuses as malformed, and such an answer is checked as bytes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import cbor2
import schemathesis
import zstandard
from schemathesis.transport import register_serializer

SYNC = "application/vnd.zhucun.sync+cbor"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Schemas nest a few levels; a deeper walk means a cycle of references.
MAX_DEPTH = 64


# --- the schema, walked beside a value -------------------------------------------------------


def _lookup(roots: list, ref: str) -> Any:
    """What a local `$ref` names, in the first of `roots` that has it."""
    if not ref.startswith("#/"):
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
    for target in roots:
        for part in parts:
            if not isinstance(target, dict) or part not in target:
                target = None
                break
            target = target[part]
        if target is not None:
            return target
    return None


def _resolve(roots: list, schema: Any, depth: int = 0) -> Any:
    """The schema behind local `$ref`s. They point into the document (`#/components/...`) or,
    where schemathesis bundled a schema, into that schema itself (`#/x-bundled/...`): `roots`
    holds both."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and depth < MAX_DEPTH:
        target = _lookup(roots, schema["$ref"])
        if target is None:
            return {}
        # OpenAPI 3.1 lets siblings stand beside `$ref`: keep them.
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, dict) and siblings else target
        depth += 1
    return schema if isinstance(schema, dict) else {}


def _types(schema: dict) -> set:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return set(t)
    return set()


def _is_bytes(schema: dict) -> bool:
    """A string the document says stands for bytes."""
    if not isinstance(schema, dict):
        return False
    return (
        schema.get("contentEncoding") in ("binary", "base64")
        or schema.get("format") in ("binary", "byte")
        or schema.get("contentMediaType") == "application/octet-stream"
    ) and (not _types(schema) or "string" in _types(schema))


def _branches(roots: list, schema: dict, depth: int) -> list:
    """The schema and the alternatives or parts it is made of, resolved."""
    out = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            sub = _resolve(roots, sub)
            if isinstance(sub, dict) and depth < MAX_DEPTH:
                out.extend(_branches(roots, sub, depth + 1))
    return out


def _property_schemas(roots: list, schemas: list, key: str) -> list:
    found = []
    for s in schemas:
        props = s.get("properties")
        if isinstance(props, dict) and key in props:
            found.append(_resolve(roots, props[key]))
            continue
        extra = s.get("additionalProperties")
        if isinstance(extra, dict):
            found.append(_resolve(roots, extra))
    return [f for f in found if isinstance(f, dict)]


def _item_schemas(roots: list, schemas: list, index: int) -> list:
    found = []
    for s in schemas:
        prefix = s.get("prefixItems")
        if isinstance(prefix, list) and index < len(prefix):
            found.append(_resolve(roots, prefix[index]))
        elif isinstance(s.get("items"), dict):
            found.append(_resolve(roots, s["items"]))
    return [f for f in found if isinstance(f, dict)]


def _to_wire(roots: list, schemas: list, value: Any, depth: int = 0) -> Any:
    """`value` with every string the schema marks as binary turned into bytes."""
    if depth > MAX_DEPTH:
        return value
    flat = [b for s in schemas for b in _branches(roots, s, depth)]
    if isinstance(value, str):
        for s in flat:
            if _is_bytes(s):
                if s.get("format") == "byte" or s.get("contentEncoding") == "base64":
                    try:
                        return base64.b64decode(value, validate=True)
                    except (binascii.Error, ValueError):
                        pass
                return value.encode("utf-8", "surrogatepass")
        return value
    if isinstance(value, dict):
        return {k: _to_wire(roots, _property_schemas(roots, flat, k), v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_wire(roots, _item_schemas(roots, flat, i), v, depth + 1) for i, v in enumerate(value)]
    return value


def _from_wire(roots: list, schemas: list, value: Any, depth: int = 0) -> Any:
    """A decoded CBOR answer as JSON-like values, for schema validation."""
    if depth > MAX_DEPTH:
        return value
    flat = [b for s in schemas for b in _branches(roots, s, depth)]
    if isinstance(value, (bytes, bytearray)):
        if any(_is_bytes(s) for s in flat):
            # Latin-1 keeps one character per byte, so length limits still hold.
            return bytes(value).decode("latin-1")
        return {"unexpected CBOR byte string": bytes(value).hex()}
    if isinstance(value, dict):
        return {
            str(k): _from_wire(roots, _property_schemas(roots, flat, str(k)), v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_from_wire(roots, _item_schemas(roots, flat, i), v, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, cbor2.CBORTag):
        return {"unexpected CBOR tag": value.tag}
    if isinstance(value, cbor2.CBORSimpleValue):
        return {"unexpected CBOR simple value": int(value.value)}
    if isinstance(value, float) and value != value:
        return {"unexpected CBOR NaN": True}
    return value


def _request_schema(case: Any) -> tuple[list, list]:
    """Where references resolve, and the request body's schema for the case's media type
    (none if the document has none)."""
    try:
        document = case.operation.schema.raw_schema
        for body in case.operation.body:
            if body.media_type == case.media_type:
                raw = body.definition.get("schema", {})
                roots = [raw, document]
                return roots, [_resolve(roots, raw)]
    except Exception:  # an unexpected shape: encode without the schema's help
        pass
    return [], []


def _response_schema(operation: Any, status: int, media_type: str) -> tuple[list, list]:
    try:
        document = operation.schema.raw_schema
        roots = [document]
        responses = _resolve(roots, operation.definition.raw.get("responses", {}))
        answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        content = _resolve(roots, answer or {}).get("content") or {}
        for name, media in content.items():
            if name.split(";")[0].strip().lower() == media_type:
                raw = (media or {}).get("schema", {})
                roots = [raw, document]
                return roots, [_resolve(roots, raw)]
    except Exception:
        pass
    return [], []


# --- the sync media type ----------------------------------------------------------------------


def _declares_content_encoding(case: Any) -> bool:
    try:
        return any(p.name.lower() == "content-encoding" for p in case.operation.headers.items)
    except Exception:
        return False


def _serialize_sync(ctx: Any, value: Any) -> dict:
    roots, schemas = _request_schema(ctx.case)
    answer = {"data": zstandard.ZstdCompressor().compress(cbor2.dumps(_to_wire(roots, schemas, value)))}
    # The header goes with the body unless the document declares it as a header parameter:
    # then the generated case carries it (or, in a negative case, leaves it out or gets it
    # wrong on purpose, and adding it here would hide what is being tested).
    if not _declares_content_encoding(ctx.case):
        answer["headers"] = {"Content-Encoding": "zstd"}
    return answer


# The low-level registration: `@schemathesis.serializer` returns the body alone, while a
# serializer registered here may also add headers.
register_serializer(_serialize_sync, SYNC)


@schemathesis.deserializer(SYNC)
def _deserialize_sync(ctx: Any, response: Any) -> Any:
    raw = response.content
    roots, schemas = _response_schema(ctx.operation, response.status_code, SYNC)
    if any(_is_bytes(s) for s in schemas):
        # The document describes the body as opaque bytes, not the message inside: that is
        # what there is to check.
        return raw.decode("latin-1")
    # requests inflates `Content-Encoding: zstd` itself only when backports.zstd is installed.
    if raw[:4] == ZSTD_MAGIC:
        raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    return _from_wire(roots, schemas, cbor2.loads(raw))
