//! Split knowledge of the unseal key (PCI DSS 3.6.1.2), tried as the custodian who wants the
//! whole key would: the last approver of `init`, one custodian holding one share, a caller with
//! no share at all. Each share is encrypted to its custodian's RSA key at `init` and at `rekey`;
//! a new root token only comes from a quorum of shares (`generate-root`), encrypted to the key
//! named when it started.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kms_engine::crypto::recipient::Holder;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use super::strings;
use crate::process::*;
use crate::support::Http;

/// An RSA-2048 key pair as a custodian makes one: (private PEM, public SPKI PEM).
pub fn key_pair() -> (String, String) {
    let key = rsa::PrivateKey::new(&mut rand::rng(), 2048).unwrap();
    (
        key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        key.to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    )
}

/// `method path` as custodian `who` (HTTP Basic), or anonymously.
pub fn as_custodian(
    addr: &str,
    who: Option<&str>,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let basic = who.map(|w| format!("Basic {}", STANDARD.encode(format!("{w}:{}", password(w)))));
    Http::answer(match body {
        Some(body) => {
            let mut r = agent.post(format!("{addr}{path}"));
            if let Some(b) = &basic {
                r = r.header("Authorization", b);
            }
            r.send_json(body)
        }
        None => {
            let mut r = agent.get(format!("{addr}{path}"));
            if let Some(b) = &basic {
                r = r.header("Authorization", b);
            }
            r.call()
        }
    })
}

/// Runs the create ceremony over HTTP (alice starts; alice, bob, carol and dave approve) with
/// `start`, and returns the last approval's answer. A server that does not know `share_keys`
/// (the code before this change) is asked for the same ceremony without them, to show what the
/// last approver received there.
fn create(addr: &str, start: Value) -> Value {
    let (s, b) = as_custodian(addr, Some("alice"), "/v1/hsm/ceremonies", Some(&start));
    let b = if s == 400 && b.to_string().contains("unknown field") {
        let plain = json!({ "operation": "create", "shares": start["shares"], "threshold": start["threshold"] });
        let (s, b) = as_custodian(addr, Some("alice"), "/v1/hsm/ceremonies", Some(&plain));
        assert_eq!(s, 201, "{b}");
        b
    } else {
        assert_eq!(s, 201, "{b}");
        b
    };
    let id = b["id"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for who in ["alice", "bob", "carol", "dave"] {
        let (s, b) = as_custodian(
            addr,
            Some(who),
            &format!("/v1/hsm/ceremonies/{id}/approve"),
            Some(&json!({})),
        );
        assert_eq!(s, 200, "{who}: {b}");
        last = b;
    }
    assert!(
        last.get("result").is_some(),
        "the quorum did not run it: {last}"
    );
    last
}

/// Submits `shares` to `/v1/sys/unseal`; true when the server ends up unsealed.
fn unseals(http: &Http, shares: &[String]) -> bool {
    let (s, b) = http.post("/v1/sys/unseal", None, &json!({ "reset": true }));
    assert!(s == 200 || s == 429, "{b}");
    let mut sealed = true;
    for share in shares {
        let (s, b) = http.post("/v1/sys/unseal", None, &json!({ "share": share }));
        if s != 200 {
            return false;
        }
        sealed = b["sealed"] != json!(false);
    }
    !sealed
}

/// A server with the test custodians, initialised with 3 shares (threshold 2) each encrypted to
/// its own custodian's key, and the root token to a fourth key.
pub struct Sealed3 {
    pub _dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    running: Option<Server>,
    /// The custodians' private keys, share i to key i.
    pub keys: Vec<Holder>,
    pub answer: Value,
}

impl Sealed3 {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), "");
        let server = Server::start(&config, &[]);
        let pairs: Vec<(String, String)> = (0..4).map(|_| key_pair()).collect();
        let answer = create(
            &server.addr,
            json!({
                "operation": "create", "shares": 3, "threshold": 2,
                "share_keys": pairs[..3].iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
                "root_token_key": pairs[3].1,
            }),
        );
        let keys = pairs
            .iter()
            .map(|(private, _)| Holder::from_pem(private).unwrap())
            .collect();
        Self {
            _dir: dir,
            config,
            running: Some(server),
            keys,
            answer,
        }
    }

    /// Share `i`, decrypted by its custodian.
    pub fn share(&self, i: usize) -> String {
        let sealed = &self.answer["encrypted_shares"][i];
        self.keys[i]
            .open(sealed["ciphertext"].as_str().unwrap())
            .unwrap()
            .expose()
            .to_owned()
    }

    /// The root token, decrypted with the fourth key.
    pub fn root(&self) -> String {
        let sealed = &self.answer["encrypted_root_token"];
        self.keys[3]
            .open(sealed["ciphertext"].as_str().unwrap())
            .unwrap()
            .expose()
            .to_owned()
    }

    pub fn server(&self) -> &Server {
        self.running.as_ref().unwrap()
    }

    /// Kills the server and starts it again on the same data: sealed.
    pub fn restart(&mut self) {
        if let Some(old) = self.running.take() {
            old.kill();
        }
        self.running = Some(Server::start(&self.config, &[]));
    }

    /// Restarts the server and tries to unseal it with `shares`.
    pub fn restart_and_unseal(&mut self, shares: &[String]) -> bool {
        self.restart();
        unseals(&self.server().http(), shares)
    }
}

#[test]
fn the_last_approver_of_init_cannot_read_any_share_given_to_another_custodian() {
    let mut kms = Sealed3::start();
    let answer = kms.answer.clone();
    // What the last approver (dave) received: no plaintext share, no plaintext root token.
    assert!(
        answer["shares"].as_array().is_none_or(Vec::is_empty),
        "the last approver received every unseal share in plaintext: {}",
        answer["shares"]
    );
    assert!(
        answer["root_token"].is_null(),
        "the last approver received the root token in plaintext"
    );
    let sealed = answer["encrypted_shares"].as_array().unwrap();
    assert_eq!(sealed.len(), 3, "{answer}");
    // Each ciphertext names its custodian's key, and only that key opens it.
    for (i, s) in sealed.iter().enumerate() {
        assert_eq!(s["fingerprint"], json!(kms.keys[i].fingerprint()), "{s}");
        for (j, other) in kms.keys.iter().enumerate() {
            let opened = other.open(s["ciphertext"].as_str().unwrap());
            assert_eq!(
                opened.is_ok(),
                i == j,
                "share {i} opened with key {j}: {}",
                opened.is_ok()
            );
        }
    }
    let shares: Vec<String> = (0..3).map(|i| kms.share(i)).collect();
    let root = kms.root();
    // Nothing in the answer is a share or the token, in any field.
    for text in strings(&answer) {
        assert!(
            !shares.contains(&text) && text != root,
            "a secret in plaintext: {answer}"
        );
    }
    // The ceremony's audit names the keys, never the secrets.
    let (s, audit) = kms
        .server()
        .http()
        .get("/v1/admin/audit?action=master_key_create", Some(&root));
    assert_eq!(s, 200, "{audit}");
    let audit = audit.to_string();
    assert!(audit.contains(kms.keys[1].fingerprint()), "{audit}");
    assert!(
        shares.iter().all(|s| !audit.contains(s.as_str())),
        "{audit}"
    );
    // What each custodian decrypted is their real share: two of them unseal a restarted server.
    assert!(kms.restart_and_unseal(&shares[1..]));
}
