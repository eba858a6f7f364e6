//! TLS on the listener and apps authenticated by client certificate: certificates are made at
//! test time with the `openssl` command; a ureq client with rustls speaks HTTPS to the server,
//! with or without a client certificate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kms::testing::RunningServer;
use kms_engine::audit::Outcome;
use kms_testkit::openssl;
use kms_tls::TlsFiles;
use serde_json::json;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use crate::access::audit;
use crate::support::{Http, ROOT, assert_error, dev_server, dev_server_with};

/// A CA, the server's certificate (127.0.0.1 and localhost) and client certificates, in `dir`.
/// A test CA and certificates it signs (also used by the cluster tests).
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    pub fn new(dir: &Path) -> Self {
        let pki = Self {
            dir: dir.to_owned(),
        };
        pki.ca("ca");
        pki.issue(
            "ca",
            "server",
            "localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
        );
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn openssl(&self, args: &[&str]) -> String {
        openssl::run(&self.dir, args)
    }

    /// A self-signed CA: `{name}.pem`, `{name}.key`.
    pub fn ca(&self, name: &str) {
        let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
        openssl::self_signed(&self.dir, &format!("{name} test CA"), &key, &cert);
    }

    /// A certificate `{name}.pem` (key `{name}.key`) for `cn`, signed by CA `ca`.
    pub fn issue(&self, ca: &str, name: &str, cn: &str, extensions: &str) {
        let ext = format!("{name}.ext");
        std::fs::write(
            self.path(&ext),
            format!("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n{extensions}\n"),
        )
        .unwrap();
        self.openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    pub fn client(&self, ca: &str, name: &str) {
        self.issue(
            ca,
            name,
            &format!("{name}.payments.internal"),
            "extendedKeyUsage=clientAuth",
        );
    }

    /// `openssl x509 -fingerprint -sha256` as printed: `AB:CD:...`.
    pub fn fingerprint(&self, name: &str) -> String {
        openssl::fingerprint(&self.dir, &format!("{name}.pem"))
    }

    pub fn files(&self, client_ca: bool) -> TlsFiles {
        TlsFiles {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: client_ca.then(|| self.path("ca.pem")),
        }
    }

    /// An HTTPS client that trusts the test CA, presenting the client certificate `client`.
    fn http(&self, server: &RunningServer, client: Option<&str>) -> Http {
        self.http_at(&format!("https://127.0.0.1:{}", server.addr.port()), client)
    }

    /// An HTTPS agent that trusts the test CA and follows no redirect (the console's tests).
    pub fn agent_without_redirects(&self) -> ureq::Agent {
        let ca = Certificate::from_pem(&std::fs::read(self.path("ca.pem")).unwrap()).unwrap();
        let tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![ca])));
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .tls_config(tls.build())
            .build()
            .new_agent()
    }

    pub fn http_at(&self, base: &str, client: Option<&str>) -> Http {
        let read = |f: String| std::fs::read(self.path(&f)).unwrap();
        let ca = Certificate::from_pem(&read("ca.pem".into())).unwrap();
        let mut tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(vec![ca])));
        if let Some(name) = client {
            let cert = Certificate::from_pem(&read(format!("{name}.pem"))).unwrap();
            let key = PrivateKey::from_pem(&read(format!("{name}.key"))).unwrap();
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&[cert], key)));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls.build())
            .build()
            .new_agent();
        Http::with_agent(agent, base)
    }
}

fn encrypt_body() -> serde_json::Value {
    json!({ "plaintext": crate::support::b64(b"4111111111111111") })
}

#[test]
fn a_certificate_bound_app_needs_no_token_and_other_certificates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(pki_dir.path());
    pki.client("ca", "checkout");
    pki.client("ca", "stranger");
    pki.ca("rogue");
    pki.client("rogue", "impostor");
    let server = dev_server_with(dir.path(), |o| o.tls = Some(pki.files(true)));
    let admin = pki.http(&server, None);

    // Token-only apps and administrators work over TLS without a certificate.
    admin.create_key("cards");
    let checkout_token = admin.create_app("checkout");
    let billing_token = admin.create_app("billing");
    admin.grant("cards", "checkout", &["encrypt", "decrypt"]);
    admin.grant("cards", "billing", &["encrypt"]);
    let path = "/v1/keys/cards/encrypt";
    let (s, b) = admin.post(path, Some(&billing_token), &encrypt_body());
    assert_eq!(s, 200, "{b}");

    // Bind the checkout certificate (as openssl prints its fingerprint); it is listed.
    let fingerprint = pki.fingerprint("checkout");
    let (s, b) = admin.post(
        "/v1/admin/apps/checkout/certificate",
        Some(ROOT),
        &json!({ "fingerprint": fingerprint }),
    );
    assert_eq!(s, 200, "{b}");
    let hex = fingerprint.replace(':', "").to_lowercase();
    assert_eq!(b["fingerprint"], hex.as_str());
    let (_, app) = admin.get("/v1/admin/apps/checkout", Some(ROOT));
    assert_eq!(app["certificates"][0]["fingerprint"], hex.as_str(), "{app}");
    assert_eq!(app["certificates"][0]["state"], "active");

    // The certificate alone authenticates as checkout: encrypt, then decrypt, with no token.
    let checkout = pki.http(&server, Some("checkout"));
    let (s, b) = checkout.post(path, None, &encrypt_body());
    assert_eq!(s, 200, "{b}");
    let ct = b["ciphertext"].as_str().unwrap().to_owned();
    assert_eq!(checkout.open_with(None, "cards", &ct), b"4111111111111111");
    // With its own token as well: fine. With another app's token: refused, and audited.
    let (s, b) = checkout.post(path, Some(&checkout_token), &encrypt_body());
    assert_eq!(s, 200, "{b}");
    let got = checkout.post(path, Some(&billing_token), &encrypt_body());
    assert_error(&got, 403, "certificate_mismatch");
    let got = checkout.post("/v1/admin/keys", Some(ROOT), &json!({ "name": "x" }));
    assert_error(&got, 403, "certificate_mismatch");
    // A certificate bound to an app is no way into the admin API.
    let got = checkout.get("/v1/admin/keys", None);
    assert_error(&got, 403, "forbidden");

    // A certificate from the right CA that is bound to no app: 401 without a token; with a
    // token, the token decides.
    let stranger = pki.http(&server, Some("stranger"));
    let got = stranger.post(path, None, &encrypt_body());
    assert_error(&got, 401, "unknown_certificate");
    let (s, b) = stranger.post(path, Some(&billing_token), &encrypt_body());
    assert_eq!(s, 200, "{b}");
    // No certificate and no token: as before.
    assert_error(
        &admin.post(path, None, &encrypt_body()),
        401,
        "missing_token",
    );

    // A certificate from another CA fails the handshake: no HTTP answer at all.
    let impostor = pki.http(&server, Some("impostor"));
    assert!(impostor.try_post(path, None, &encrypt_body()).is_err());
    // Nor does the listener speak plain HTTP.
    assert!(
        Http::at(&server.url(""))
            .try_post(path, Some(&billing_token), &encrypt_body())
            .is_err()
    );

    // Binding mistakes have their own codes.
    for (app, body, status, code) in [
        (
            "checkout",
            json!({ "fingerprint": fingerprint }),
            409,
            "certificate_already_bound",
        ),
        (
            "billing",
            json!({ "fingerprint": hex }),
            409,
            "certificate_already_bound",
        ),
        (
            "billing",
            json!({ "fingerprint": "abc" }),
            400,
            "invalid_fingerprint",
        ),
        (
            "nobody",
            json!({ "fingerprint": "00".repeat(32) }),
            404,
            "app_not_found",
        ),
    ] {
        let got = admin.post(
            &format!("/v1/admin/apps/{app}/certificate"),
            Some(ROOT),
            &body,
        );
        assert_error(&got, status, code);
    }

    // The refusals are in the audit log, under who was refused.
    let codes = |actor: &str| -> Vec<Option<String>> {
        audit(&server, actor)
            .into_iter()
            .filter(|r| r.event.outcome == Outcome::Denied)
            .map(|r| r.event.code)
            .collect()
    };
    let stranger_fp = pki.fingerprint("stranger").replace(':', "").to_lowercase();
    assert_eq!(
        codes(&format!("cert:{stranger_fp}")),
        vec![Some("unknown_certificate".to_owned())]
    );
    assert!(codes("app:billing").contains(&Some("certificate_mismatch".to_owned())));

    // Revoking the app ends the certificate too.
    let (s, b) = admin.post("/v1/admin/apps/checkout/revoke", Some(ROOT), &json!({}));
    assert_eq!(s, 200, "{b}");
    let got = checkout.post(path, None, &encrypt_body());
    assert_error(&got, 401, "unknown_certificate");
    let (_, app) = admin.get("/v1/admin/apps/checkout", Some(ROOT));
    assert_eq!(app["certificates"][0]["state"], "revoked", "{app}");
}

#[test]
fn tls_without_client_ca_serves_tokens_and_bad_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(pki_dir.path());
    pki.client("ca", "checkout");
    let server = dev_server_with(dir.path(), |o| o.tls = Some(pki.files(false)));
    // A client certificate is not asked for, so it is not used: the token is needed.
    let http = pki.http(&server, Some("checkout"));
    http.create_key("cards");
    let token = http.create_app("checkout");
    http.grant("cards", "checkout", &["encrypt"]);
    let path = "/v1/keys/cards/encrypt";
    assert_error(
        &http.post(path, None, &encrypt_body()),
        401,
        "missing_token",
    );
    let (s, b) = http.post(path, Some(&token), &encrypt_body());
    assert_eq!(s, 200, "{b}");
    server.stop();

    // A missing file is named at start-up, before anything listens.
    let missing = TlsFiles {
        client_ca: Some(pki.path("no-such-ca.pem")),
        ..pki.files(true)
    };
    let err = RunningServer::start({
        let mut o = crate::support::dev_options(dir.path());
        o.tls = Some(missing);
        o
    })
    .err()
    .expect("refused")
    .to_string();
    assert!(
        err.contains("client_ca") && err.contains("no-such-ca.pem"),
        "{err}"
    );
}

#[test]
fn without_tls_the_listener_speaks_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    assert!(server.url("").starts_with("http://"));
    let http = Http::new(&server);
    let (s, b) = http.get("/v1/admin/keys", Some(ROOT));
    assert_eq!(s, 200, "{b}");
    let https = Http::at(&format!("https://127.0.0.1:{}", server.addr.port()));
    assert!(
        https
            .try_post("/v1/admin/keys", Some(ROOT), &json!({"name":"k"}))
            .is_err()
    );
}

/// The `kms` binary with `--tls-*` flags, and `kms app certificate` over HTTPS (`KMS_CACERT`).
#[test]
fn the_binary_serves_https_and_the_cli_binds_a_certificate() {
    use crate::process::{KMS, Server, kms};

    let dir = tempfile::tempdir().unwrap();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(pki_dir.path());
    pki.client("ca", "checkout");
    let path = |f: &str| pki.path(f).to_str().unwrap().to_owned();
    let (cert, key, ca) = (path("server.pem"), path("server.key"), path("ca.pem"));
    let flags = [
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-client-ca",
        &ca,
    ];

    // A missing file stops the start, naming the file.
    let out = Command::new(KMS)
        .args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--tls-cert", &cert, "--tls-key", &path("absent.key")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("key file") && stderr.contains("absent.key"),
        "{stderr}"
    );

    let server = Server::start_dev_with(dir.path(), "tls-root", &flags, &[]);
    assert!(
        server.addr.starts_with("https://127.0.0.1:"),
        "{}",
        server.addr
    );
    let env = [("KMS_TOKEN", "tls-root"), ("KMS_CACERT", ca.as_str())];
    let run = |args: &[&str]| {
        let r = kms(args, &server.addr, "", &env);
        assert!(r.ok, "kms {args:?}: {}", r.stderr);
        r.stdout
    };
    run(&["key", "create", "cards"]);
    run(&["app", "create", "checkout"]);
    run(&["grant", "cards", "checkout", "--operation", "encrypt"]);
    let out = run(&[
        "app",
        "certificate",
        "checkout",
        "--cert",
        &path("checkout.pem"),
    ]);
    let hex = pki.fingerprint("checkout").replace(':', "").to_lowercase();
    assert!(out.contains(&hex), "{out}");

    // The bound certificate encrypts without a token.
    let checkout = pki.http_at(&server.addr, Some("checkout"));
    let (s, b) = checkout.post("/v1/keys/cards/encrypt", None, &encrypt_body());
    assert_eq!(s, 200, "{b}");

    // Without KMS_CACERT the CLI does not trust the test CA; a bad KMS_CACERT is named.
    let r = kms(
        &["key", "list"],
        &server.addr,
        "",
        &[("KMS_TOKEN", "tls-root")],
    );
    assert!(!r.ok && r.stderr.contains("cannot reach"), "{}", r.stderr);
    let r = kms(
        &["key", "list"],
        &server.addr,
        "",
        &[("KMS_TOKEN", "tls-root"), ("KMS_CACERT", key.as_str())],
    );
    assert!(!r.ok && r.stderr.contains("KMS_CACERT"), "{}", r.stderr);
}
