//! The API reference cannot drift from the route table: every path the server routes is in
//! docs/api.md, and every error code the server can answer with is listed there.

/// A file of the repository.
pub fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The absolute paths routes.rs gives `resource(...)`.
pub fn routed_paths(routes: &str) -> impl Iterator<Item = &str> {
    routes
        .split("resource(\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .filter(|p| p.starts_with('/'))
}

/// The data operations routes.rs routes with `key_resource(...)`, as `/v1/keys/{name}/OP`.
pub fn key_op_paths(routes: &str) -> impl Iterator<Item = String> {
    routes
        .split("key_resource(\"")
        .skip(1)
        .map(|rest| format!("/v1/keys/{{name}}/{}", &rest[..rest.find('"').unwrap()]))
}

#[test]
fn every_route_is_documented() {
    let routes = read("gateway/src/routes.rs");
    let console = read("gateway/src/console/mod.rs");
    let api = read("docs/api.md");
    let paths: Vec<String> = routed_paths(&routes)
        .map(str::to_owned)
        // The web console's pages, routed in their own scope under `/ui`.
        .chain(routed_paths(&console).map(|p| format!("/ui{p}")))
        .chain(key_op_paths(&routes))
        .collect();
    assert!(
        paths.len() >= 30,
        "routes not found in routes.rs: {paths:?}"
    );
    for path in paths {
        // docs write `{v}` where routes.rs writes `{version}`.
        let documented = path.replace("{version}", "{v}");
        assert!(
            api.contains(&documented),
            "{path} is routed but not in docs/api.md"
        );
    }
}

/// Every stable error code: the code-shaped string literals of the files that define them
/// (scripts/openapi.py reads this list too, for the Error schema's `code` enum).
pub fn error_codes() -> Vec<String> {
    let mut codes = Vec::new();
    for file in [
        "gateway/src/error.rs",
        "engine/src/error.rs",
        "engine/src/store_error.rs",
        "hsm-actor/src/backend.rs",
        "gateway/src/auth.rs",
        "gateway/src/api/batch.rs",
        "gateway/src/api/data/encrypt.rs",
        "gateway/src/routes.rs",
        "control/src/system_keys.rs",
        "control/src/people/login.rs",
        "gateway/src/api/auth/logout.rs",
        "control/src/people/accounts.rs",
        "control/src/people/enrolment.rs",
        "control/src/people/guard.rs",
        "control/src/people/floors.rs",
        "control/src/ceremony/custodian_login.rs",
        "control/src/shares/attempt.rs",
        "control/src/shares/deliver.rs",
        "control/src/shares/ops.rs",
        "gateway/src/api/auth/app_self.rs",
        "control/src/backup/take.rs",
        "gateway/src/api/admin/backup.rs",
        "control/src/approvals/vote.rs",
        "control/src/approvals/request.rs",
        "control/src/keys/export.rs",
        "control/src/keys/transit_export.rs",
        "control/src/keys/transit_backup.rs",
        "control/src/keys/transit_restore.rs",
        "control/src/keys/usage.rs",
        "gateway/src/api/transit/gated.rs",
        "gateway/src/api/admin/bind_certificate.rs",
        "control/src/zones/register.rs",
        "control/src/zones/transport.rs",
        "gateway/src/api/internal/keys.rs",
        "gateway/src/api/demo/mod.rs",
        "gateway/src/api/demo/signup.rs",
        "gateway/src/api/demo/login.rs",
        "gateway/src/console/csrf.rs",
    ] {
        // String literals in code, not in comments (doc comments show example bodies).
        let text: String = read(file)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for part in text.split('"').skip(1).step_by(2) {
            let looks_like_code = part.len() > 3
                && part.contains('_')
                && part.starts_with(|c: char| c.is_ascii_lowercase())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            // JSON field names in audit details, not codes.
            let field = ["backup_sha256", "public_key_sha256"].contains(&part);
            if looks_like_code && !field {
                codes.push(part.to_owned());
            }
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_error_code_is_documented() {
    let api = read("docs/api.md") + &read("docs/ciphertext.md");
    let codes = error_codes();
    assert!(codes.len() > 20, "{codes:?}");
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !api.contains(&format!("{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "error codes not in docs/api.md: {missing:?}"
    );
}

/// Every `.rs` file of the repository, outside `target/` and hidden folders, with its text.
fn sources(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && name != "target" && !name.starts_with('.') {
            sources(&path, out);
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
}

/// docs/security.md names, for each boundary, the files that enforce it and the tests that attack
/// it: each file must exist and each test must be a function somewhere in the repository.
#[test]
fn the_threat_model_names_files_and_tests_that_exist() {
    let root = std::path::PathBuf::from(format!("{}/..", env!("CARGO_MANIFEST_DIR")));
    let doc = read("docs/security.md");
    let mut all = Vec::new();
    sources(&root, &mut all);
    let mut missing = Vec::new();
    for quoted in doc.split('`').skip(1).step_by(2) {
        if quoted.ends_with(".rs") && quoted.contains('/') {
            if !root.join(quoted).exists() {
                missing.push(format!("file {quoted}"));
            }
        } else if quoted.contains("::") && !quoted.contains(['*', ' ', '(', '<']) {
            let name = quoted.rsplit("::").next().unwrap();
            let is_test_name = name.len() > 12
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            let defined = format!("fn {name}(");
            if is_test_name && !all.iter().any(|(_, text)| text.contains(&defined)) {
                missing.push(format!("test {quoted}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/security.md names what does not exist: {missing:#?}"
    );
}
