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

#[test]
fn every_route_is_documented() {
    let routes = read("gateway/src/routes.rs");
    let api = read("docs/api.md");
    let paths: Vec<String> = routed_paths(&routes)
        .map(str::to_owned)
        .chain(
            routes
                .split("key_resource(\"")
                .skip(1)
                .map(|rest| format!("/v1/keys/{{name}}/{}", &rest[..rest.find('"').unwrap()])),
        )
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

#[test]
fn every_error_code_is_documented() {
    let api = read("docs/api.md") + &read("docs/ciphertext.md");
    let mut codes = Vec::new();
    for file in [
        "gateway/src/error.rs",
        "engine/src/error.rs",
        "engine/src/store_error.rs",
        "hsm-actor/src/backend.rs",
        "gateway/src/auth.rs",
        "gateway/src/api/batch.rs",
        "gateway/src/routes.rs",
        "control/src/system_keys.rs",
        "control/src/people/login.rs",
        "gateway/src/api/auth/logout.rs",
        "control/src/people/accounts.rs",
        "control/src/people/enrolment.rs",
        "control/src/people/guard.rs",
        "control/src/people/floors.rs",
        "control/src/ceremony/custodian_login.rs",
        "gateway/src/api/auth/app_self.rs",
        "control/src/backup/take.rs",
        "gateway/src/api/admin/backup.rs",
        "control/src/approvals/vote.rs",
        "control/src/approvals/request.rs",
        "control/src/keys/export.rs",
        "gateway/src/api/admin/bind_certificate.rs",
        "control/src/zones/register.rs",
        "control/src/zones/transport.rs",
        "gateway/src/api/internal/keys.rs",
        "gateway/src/api/demo/mod.rs",
        "gateway/src/api/demo/signup.rs",
        "gateway/src/api/demo/login.rs",
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
                && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if looks_like_code {
                codes.push(part.to_owned());
            }
        }
    }
    codes.sort();
    codes.dedup();
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
