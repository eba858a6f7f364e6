//! The OpenAPI description of the native API (docs/openapi.json, docs/openapi.md): generated from
//! the route table and docs/api.md and current, served as it is kept, naming only routes the
//! server has (each answered by its handler, not the router's 404 or 405) and every route the
//! route table has; and usable: a Python client generated from it by openapi-python-client (from
//! PyPI) makes a key, encrypts and decrypts, and real answers validate against its schemas.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::docs::{error_codes, key_op_paths, read, routed_paths};
use crate::support::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn document() -> Value {
    serde_json::from_str(&read("docs/openapi.json")).unwrap()
}

#[test]
fn the_served_document_is_the_one_in_docs_and_covers_every_route() {
    // Current: what scripts/openapi.py makes of today's route table and docs/api.md.
    let check = Command::new("python3")
        .args(["scripts/openapi.py", "--check"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();

    // Every path routes.rs routes outside Transit and the console is in it (read independently of
    // the generator, as the docs test reads them).
    let routes = read("gateway/src/routes.rs");
    let native = &routes[..routes.find("pub fn transit(").unwrap()];
    let mut routed: Vec<String> = routed_paths(native)
        .filter(|p| {
            !p.starts_with("/public-key")
                && !["/challenge", "/protect", "/verify", "/rewrap"].contains(p)
        })
        .map(str::to_owned)
        .collect();
    routed.extend(key_op_paths(native));
    assert!(routed.len() > 60, "{routed:?}");
    for path in &routed {
        assert!(
            paths.contains_key(path),
            "{path} is routed but not in docs/openapi.json"
        );
    }

    // Served as kept, without a token.
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let http = Http::new(&server);
    let (status, served) = http.get("/v1/openapi.json", None);
    assert_eq!(status, 200);
    assert_eq!(served, doc);

    // Every operation it names reaches a handler: not the router's `404 not_found` ("no such
    // endpoint", what an unknown path gets) nor `405 method_not_allowed`. Each request carries the root token and an empty
    // object; the handlers refuse most of them, which is not the point here.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut reached = 0;
    for (path, methods) in paths {
        let concrete = path
            .replace("{name}", "no-such-thing")
            .replace("{version}", "1")
            .replace("{id}", "1");
        for (method, op) in methods.as_object().unwrap() {
            // Last, so that the root token it may revoke serves the others.
            if path.contains("root-tokens") || path == "/v1/auth/logout" {
                continue;
            }
            let url = server.url(&concrete);
            let answer = match method.as_str() {
                "get" => agent
                    .get(&url)
                    .header("Authorization", &format!("Bearer {ROOT}"))
                    .call(),
                "post" => agent
                    .post(&url)
                    .header("Authorization", &format!("Bearer {ROOT}"))
                    .send_json(json!({})),
                other => panic!("{other} {path}: a method the test does not send"),
            };
            let mut answer = answer.expect("transport works");
            let status = answer.status().as_u16();
            let text = answer.body_mut().read_to_string().unwrap_or_default();
            let error = serde_json::from_str::<Value>(&text).unwrap_or_default()["error"].clone();
            let unrouted = status == 404
                && error["code"] == "not_found"
                && error["message"] == "no such endpoint";
            assert!(
                !unrouted && status != 405,
                "{} {path} ({}): {status} {text}",
                method.to_uppercase(),
                op["operationId"]
            );
            reached += 1;
        }
    }
    assert!(reached > 70, "only {reached} operations tried");
}

#[test]
fn the_error_schema_names_every_stable_error_code() {
    let doc = document();
    let listed: Vec<String> =
        doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
    // The same codes docs::every_error_code_is_documented finds in the source, no more, no less.
    assert_eq!(listed, error_codes());
    assert!(listed.iter().any(|c| c == "not_found"), "{listed:?}");
    // Every error answer refers to it.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert_eq!(
                op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{method} {path}"
            );
        }
    }
}

/// The virtual environment with the generator and jsonschema, made once under target/.
fn venv() -> Option<PathBuf> {
    let venv = root().join("target/openapi-venv");
    let pip = venv.join("bin/pip");
    if !venv.join("bin/openapi-python-client").exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(
            made.success(),
            "python3 -m venv failed (Debian: apt-get install python3-venv)"
        );
        let installed = Command::new(&pip)
            .args([
                "install",
                "-q",
                "openapi-python-client==0.29.1",
                "jsonschema==4.26.0",
            ])
            .output()
            .unwrap();
        if !installed.status.success() {
            eprintln!(
                "SKIPPED: openapi-python-client could not be installed from PyPI (no network?):\n{}",
                String::from_utf8_lossy(&installed.stderr)
            );
            return None;
        }
    }
    Some(venv)
}

#[test]
fn a_python_client_generated_from_the_document_encrypts_decrypts_and_its_schemas_hold() {
    let Some(venv) = venv() else { return };
    let bin = venv.join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tempfile::tempdir().unwrap();
    let generated = Command::new(bin.join("openapi-python-client"))
        .args(["generate", "--meta", "none", "--path"])
        .arg(root().join("docs/openapi.json"))
        .arg("--output-path")
        .arg(out.path().join("kms_client"))
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        generated.status.success() && out.path().join("kms_client/client.py").exists(),
        "{}{}",
        String::from_utf8_lossy(&generated.stdout),
        String::from_utf8_lossy(&generated.stderr)
    );
    let compiled = Command::new(bin.join("python"))
        .args(["-m", "compileall", "-q"])
        .arg(out.path().join("kms_client"))
        .status()
        .unwrap();
    assert!(compiled.success(), "the generated client does not compile");

    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let run = Command::new(bin.join("python"))
        .arg(root().join("tests/e2e/openapi/client_check.py"))
        .arg(out.path())
        .arg(server.url(""))
        .arg(ROOT)
        .arg(root().join("docs/openapi.json"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("roundtrip ok") && stdout.contains("validated 10 answers"),
        "{stdout}"
    );
}
