"""Drives the Python client that openapi-python-client generated from docs/openapi.json against a
running KMS (tests/e2e/openapi.rs): creates a key, encrypts and decrypts through the generated
functions and models, then checks real answers (successes and an error) against the document's
response schemas with jsonschema.

    python client_check.py CLIENT_PARENT_DIR BASE_URL TOKEN OPENAPI_JSON"""
import base64
import importlib
import json
import sys

import httpx
import jsonschema

parent, base_url, token, doc_path = sys.argv[1:5]
sys.path.insert(0, parent)
client_mod = importlib.import_module("kms_client.client")
api = "kms_client.api.default."
models = importlib.import_module("kms_client.models")

client = client_mod.AuthenticatedClient(base_url=base_url, token=token)

# Through the generated client: a key, then a round trip.
create = importlib.import_module(api + "post_v1_admin_keys")
made = create.sync_detailed(client=client, body=models.PostV1AdminKeysBody(name="openapi-cards", algorithm="aes-256-gcm"))
assert made.status_code == 201, (made.status_code, made.content)
encrypt = importlib.import_module(api + "post_v1_keys_name_encrypt")
decrypt = importlib.import_module(api + "post_v1_keys_name_decrypt")
secret = base64.b64encode(b"4111111111111111").decode()
sealed = encrypt.sync(name="openapi-cards", client=client, body=models.PostV1KeysNameEncryptBodyType0(plaintext=secret))
assert sealed.ciphertext.startswith("kms:00001:"), sealed
opened = decrypt.sync(name="openapi-cards", client=client, body=models.PostV1KeysNameDecryptBodyType0(ciphertext=sealed.ciphertext))
assert base64.b64decode(opened.plaintext) == b"4111111111111111", opened
print("roundtrip ok")

# Real answers against the document's schemas.
doc = json.load(open(doc_path))


def schema(method, path, status):
    content = doc["paths"][path][method]["responses"][status]["content"]["application/json"]
    return {"$ref": "#/$defs/answer", "$defs": {"answer": content["schema"]},
            "components": doc["components"]}


def check(method, path, status, answer):
    s = schema(method, path, status)
    # "#/components/..." refers to the document; the wrapper carries components at its root.
    jsonschema.validate(answer, s, cls=jsonschema.Draft202012Validator)


raw = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
checked = 0
for method, path, url, body, status in [
    ("post", "/v1/admin/keys", "/v1/admin/keys", {"name": "openapi-sig", "algorithm": "ecdsa-p256"}, "201"),
    ("get", "/v1/admin/keys", "/v1/admin/keys", None, "200"),
    ("get", "/v1/admin/keys/{name}", "/v1/admin/keys/openapi-cards", None, "200"),
    ("post", "/v1/keys/{name}/encrypt", "/v1/keys/openapi-cards/encrypt", {"plaintext": secret}, "200"),
    ("post", "/v1/keys/{name}/encrypt", "/v1/keys/openapi-cards/encrypt", {"items": [{"plaintext": secret}, {"plaintext": "%%"}]}, "200"),
    ("post", "/v1/keys/{name}/datakey", "/v1/keys/openapi-cards/datakey", {"bits": 256, "return_plaintext": True}, "200"),
    ("post", "/v1/random", "/v1/random", {"bytes": 16}, "200"),
    ("post", "/v1/keys/{name}/decrypt", "/v1/keys/openapi-cards/decrypt", {"ciphertext": "kms:00001:AAAA"}, "default"),
]:
    answer = raw.request(method.upper(), url, json=body)
    if status == "default":
        assert answer.status_code >= 400, answer.text
    else:
        assert str(answer.status_code) == status, (url, answer.status_code, answer.text)
    check(method, path, status, answer.json())
    checked += 1
signature = raw.post("/v1/keys/openapi-sig/sign", json={"input": secret}).json()
check("post", "/v1/keys/{name}/sign", "200", signature)
verified = raw.post("/v1/keys/openapi-sig/verify", json={"input": secret, "signature": signature["signature"]}).json()
check("post", "/v1/keys/{name}/verify", "200", verified)
assert verified == {"valid": True}, verified
checked += 2
# A wrong answer is caught: the schemas are not vacuous.
try:
    check("post", "/v1/keys/{name}/encrypt", "200", {"ciphertext": "not kms text", "key_version": 1})
    raise SystemExit("a malformed answer passed the schema")
except jsonschema.ValidationError:
    pass
print(f"validated {checked} answers")
