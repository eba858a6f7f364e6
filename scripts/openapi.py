#!/usr/bin/env python3
"""Writes docs/openapi.json, the OpenAPI 3.1 description of the native HTTP API, from the route
table (gateway/src/routes.rs: every path and method the server routes, Transit and the console
aside) and docs/api.md (each operation's description: the heading or table row that documents it).
The schemas of the data plane, the key routes and the errors are written out below; the other
operations are described as JSON objects, their fields in their description (docs/api.md).

    scripts/openapi.py          rewrite docs/openapi.json
    scripts/openapi.py --check  exit 1 if docs/openapi.json is not what the sources make

tests/e2e/openapi.rs runs the check, serves the document from a dev server, and generates and
runs a Python client from it."""
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROUTES = os.path.join(ROOT, "gateway/src/routes.rs")
API = os.path.join(ROOT, "docs/api.md")
OUT = os.path.join(ROOT, "docs/openapi.json")


def routes():
    """(method, path) pairs of the native API, in the route table's order."""
    text = open(ROUTES).read()
    text = text[: text.index("pub fn transit(")]
    token = re.compile(
        r'web::scope\("(?P<scope>[^"]+)"\)|(?P<end>\.default_service\()'
        r'|key_resource\("(?P<key>[^"]+)"\)|resource\("(?P<res>[^"]+)"\)'
        r"|web::(?P<method>get|post|put|delete|patch)\(\)"
    )
    prefix, path, found = "", None, []
    for m in token.finditer(text):
        if m.group("scope"):
            prefix = m.group("scope")
        elif m.group("end"):
            prefix = ""
        elif m.group("key"):
            path = f"{prefix}/{m.group('key')}"
        elif m.group("res"):
            path = prefix + m.group("res")
        elif m.group("method") and path:
            found.append((m.group("method"), path))
    return found


def error_codes():
    """The stable error codes, found as tests/e2e/docs.rs's error_codes() finds them: the
    code-shaped string literals (outside comments) of the files it lists."""
    test = open(os.path.join(ROOT, "tests/e2e/docs.rs")).read()
    listing = test[test.index("pub fn error_codes()") :]
    listing = listing[: listing.index("] {")]
    codes = set()
    for name in re.findall(r'"([^"]+\.rs)"', listing):
        text = "\n".join(
            l for l in open(os.path.join(ROOT, name)).read().split("\n")
            if not l.lstrip().startswith("//")
        )
        for part in text.split('"')[1::2]:
            field = part in ("backup_sha256", "public_key_sha256")  # audit JSON fields, not codes
            if re.fullmatch(r"[a-z][a-z0-9_]*", part) and len(part) > 3 and "_" in part and not field:
                codes.add(part)
    return sorted(codes)


def descriptions():
    """docs/api.md's text for each `METHOD PATH` it documents (headings and table rows)."""
    out = {}
    lines = open(API).read().split("\n")
    for i, line in enumerate(lines):
        for m in re.finditer(r"`(GET|POST|PUT|DELETE|PATCH) (/[^` \[?]*)", line):
            key = (m.group(1).lower(), m.group(2).replace("{v}", "{version}"))
            if key in out:
                continue
            if line.startswith("#"):
                # A heading: the paragraph below it.
                body = []
                for nxt in lines[i + 1 :]:
                    if nxt.startswith("#"):
                        break
                    if nxt.strip() and not nxt.startswith("```") and not nxt.startswith("{"):
                        body.append(nxt.strip())
                    if len(" ".join(body)) > 400:
                        break
                text = " ".join(body)
            else:
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                text = " ".join(cells[1:]) if len(cells) > 1 else line
            out[key] = text[:600]
    return out


B64 = {"type": "string", "contentEncoding": "base64", "description": "base64"}
KMS_TEXT = {"type": "string", "pattern": "^kms:[0-9]{5}:", "description": "kms:NNNNN:<base64>"}
VERSION = {"type": "integer", "minimum": 1}


def obj(required, **props):
    return {"type": "object", "properties": props, "required": required}


ITEM_ERROR = obj(["error"], error={"$ref": "#/components/schemas/ErrorBody"})

# Request and answer of each data operation (one item; `items` batches them).
DATA = {
    "encrypt": (
        obj([], plaintext=B64, plaintext_utf8={"type": "string"}, context=B64),
        obj(["ciphertext", "key_version"], ciphertext=KMS_TEXT, key_version=VERSION),
    ),
    "decrypt": (
        obj(["ciphertext"], ciphertext=KMS_TEXT, context=B64),
        obj(["plaintext"], plaintext=B64),
    ),
    "rewrap": (
        obj(["ciphertext"], ciphertext=KMS_TEXT, context=B64),
        obj(["ciphertext", "key_version"], ciphertext=KMS_TEXT, key_version=VERSION),
    ),
    "datakey": (
        obj([], bits={"type": "integer", "enum": [128, 256]},
            return_plaintext={"type": "boolean"}, context=B64),
        obj(["ciphertext", "key_version"], ciphertext=KMS_TEXT, key_version=VERSION,
            plaintext=B64),
    ),
    "sign": (
        obj(["input"], input=B64, prehashed={"type": "boolean"},
            scheme={"type": "string", "enum": ["pss", "pkcs1v15"]}),
        obj(["signature", "key_version"], signature=KMS_TEXT, key_version=VERSION),
    ),
    "verify": (
        obj(["input", "signature"], input=B64, signature=KMS_TEXT, prehashed={"type": "boolean"},
            scheme={"type": "string", "enum": ["pss", "pkcs1v15"]}),
        obj(["valid"], valid={"type": "boolean"}),
    ),
    "hmac": (
        obj(["input"], input=B64),
        obj(["hmac", "key_version"], hmac=KMS_TEXT, key_version=VERSION),
    ),
    "hmac/verify": (
        obj(["input", "hmac"], input=B64, hmac=KMS_TEXT),
        obj(["valid"], valid={"type": "boolean"}),
    ),
}

KEY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "id": {"type": "string"},
        "algorithm": {"type": "string"},
        "active_version": VERSION,
        "versions": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["name", "algorithm", "active_version"],
}

SPECIFIC = {
    ("post", "/v1/random"): (
        obj(["bytes"], bytes={"type": "integer", "minimum": 1, "maximum": 1024}),
        obj(["random"], random=B64),
    ),
    ("post", "/v1/admin/keys"): (
        obj(["name"], name={"type": "string"}, algorithm={"type": "string"},
            rotation_period={"type": "string"}, notice_period={"type": "string"},
            exportable={"type": "boolean"}, deterministic={"type": "boolean"},
            purpose={"type": "string"}, protection={"type": "string"}),
        {"$ref": "#/components/schemas/Key"},
    ),
    ("get", "/v1/admin/keys"): (
        None,
        obj(["keys"], keys={"type": "array", "items": obj(
            ["name", "algorithm", "active_version"], name={"type": "string"},
            id={"type": "string"}, algorithm={"type": "string"}, active_version=VERSION)}),
    ),
    ("get", "/v1/admin/keys/{name}"): (None, {"$ref": "#/components/schemas/Key"}),
    ("post", "/v1/auth/login"): (
        obj(["user", "password", "totp"], user={"type": "string"},
            password={"type": "string"}, totp={"type": "string"}),
        obj(["token"], token={"type": "string"}, expires_at={"type": "string"}),
    ),
}


def operation_id(method, path):
    words = re.sub(r"[{}]", "", path).strip("/").replace("-", "_").split("/")
    return "_".join([method] + [w for w in words if w])


def operation(method, path, text):
    op = {
        "operationId": operation_id(method, path),
        "summary": f"{method.upper()} {path}",
        "description": text or "See docs/api.md.",
        "responses": {
            "default": {
                "description": "An error: its stable code and a message (docs/api.md)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        },
    }
    params = re.findall(r"{(\w+)}", path)
    if params:
        op["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    request, answer = None, {"type": "object"}
    data_op = re.match(r"^/v1/keys/{name}/(.+)$", path)
    if data_op and data_op.group(1) in DATA:
        one_in, one_out = DATA[data_op.group(1)]
        request = {"oneOf": [one_in, obj(["items"], items={"type": "array", "items": one_in,
                                                            "maxItems": 10000})]}
        answer = {"oneOf": [one_out, obj(["results"], results={
            "type": "array", "items": {"oneOf": [one_out, ITEM_ERROR]}})]}
    elif (method, path) in SPECIFIC:
        request, answer = SPECIFIC[(method, path)]
    elif method in ("post", "put", "patch"):
        request = {"type": "object"}
    if request is not None:
        op["requestBody"] = {
            "required": method != "post" or request != {"type": "object"},
            "content": {"application/json": {"schema": request}},
        }
    media = {"/metrics": "text/plain", "/demo/login": "text/html"}.get(path, "application/json")
    if media == "application/json":
        content = {media: {"schema": answer}}
    else:
        content = {media: {"schema": {"type": "string"}}}
    status = "201" if (method, path) in (("post", "/v1/admin/keys"), ("post", "/v1/admin/apps")) else "200"
    op["responses"][status] = {"description": "Success", "content": content}
    if path in ("/healthz", "/readyz", "/metrics", "/v1/sys/seal-status", "/v1/sys/unseal",
                "/v1/auth/login", "/v1/openapi.json") or path.startswith("/demo/") \
            or path.startswith("/v1/auth/enrol"):
        op["security"] = []
    return op


def document():
    docs = descriptions()
    paths = {}
    for method, path in routes():
        paths.setdefault(path, {})[method] = operation(method, path, docs.get((method, path), ""))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kms",
            "version": "1",
            "description": (
                "The native HTTP API of the KMS (docs/api.md). Not described here: the Vault "
                "Transit-compatible API (Vault's own documentation applies; docs/vault-compat.md), "
                "the store's internal API (node to node, mutual TLS) and the web console's HTML "
                "pages. Generated by scripts/openapi.py from the route table and docs/api.md."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8200"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An app's token, a person's session, or the root token"}
            },
            "schemas": {
                "ErrorBody": obj(["code", "message"],
                                 code={"type": "string", "enum": error_codes(),
                                       "description": "stable code (docs/api.md)"},
                                 message={"type": "string"}),
                "Error": obj(["error"], error={"$ref": "#/components/schemas/ErrorBody"}),
                "Key": KEY,
            },
        },
    }


def main():
    text = json.dumps(document(), indent=2, sort_keys=False) + "\n"
    if sys.argv[1:] == ["--check"]:
        if open(OUT).read() != text:
            print("docs/openapi.json is not what scripts/openapi.py makes: run scripts/openapi.py",
                  file=sys.stderr)
            sys.exit(1)
        return
    open(OUT, "w").write(text)


if __name__ == "__main__":
    main()
