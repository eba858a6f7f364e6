//! Many nodes as separate processes on 127.0.0.x: a store (with the manage role, in dev
//! mode) on 127.0.0.2, service nodes of zones A and B, and a manage-only node, speaking the
//! internal API over mutual TLS with certificates from a test CA.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::process::{Server, kms_offline};
use crate::support::{Http, ROOT, eventually, free_port};
use crate::tls::Pki;

const STORE_IP: &str = "127.0.0.2";

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pki: Pki,
    internal_port: u16,
    /// The store's database: a PostgreSQL URL, or the store's SQLite file when `None`.
    postgres: Option<String>,
    /// Which node certificates the store pins to which zone.
    zones: Vec<(&'static str, Vec<&'static str>)>,
}

impl Cluster {
    pub fn new(postgres: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki_dir = dir.path().join("pki");
        std::fs::create_dir_all(&pki_dir).unwrap();
        let pki = Pki::new(&pki_dir);
        let both = "extendedKeyUsage=serverAuth,clientAuth";
        pki.issue(
            "ca",
            "store",
            "store",
            &format!("subjectAltName=IP:{STORE_IP}\n{both}"),
        );
        // `stray`: from the internal CA, but named in no store configuration.
        for name in ["n1", "n2", "n3", "manage", "stray"] {
            pki.issue("ca", name, name, both);
        }
        Self {
            dir,
            pki,
            internal_port: free_port(STORE_IP),
            postgres,
            zones: vec![("zone-a", vec!["n1", "n2"]), ("zone-b", vec!["n3"])],
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn internal_url(&self) -> String {
        format!("https://{STORE_IP}:{}", self.internal_port)
    }

    fn internal_section(&self, cert: &str, extra: &str) -> String {
        format!(
            "[internal]\ncert = \"{}\"\nkey = \"{}\"\nca = \"{}\"\n{extra}\n",
            self.pki.path(&format!("{cert}.pem")).display(),
            self.pki.path(&format!("{cert}.key")).display(),
            self.pki.path("ca.pem").display(),
        )
    }

    /// Pins the node certificates to zones other than the default (`n1`, `n2` in zone A, `n3`
    /// in zone B); before `start_store`.
    pub fn pin_zones(&mut self, zones: &[(&'static str, &[&'static str])]) {
        self.zones = zones.iter().map(|(z, n)| (*z, n.to_vec())).collect();
    }

    /// The store's `[internal]` settings: its listener, and its nodes' certificates pinned
    /// (`manage` as the manage node, the zones' nodes, `stray` nowhere).
    fn pins(&self) -> String {
        let fp = |name: &str| format!("\"{}\"", self.fingerprint(name));
        let zones: String = self
            .zones
            .iter()
            .map(|(zone, nodes)| {
                let nodes: Vec<String> = nodes.iter().map(|n| fp(n)).collect();
                format!("{zone} = [{}]\n", nodes.join(", "))
            })
            .collect();
        format!(
            "listen = \"{STORE_IP}:{}\"\nmanage_nodes = [{}]\n\n[internal.zone_nodes]\n{zones}",
            self.internal_port,
            fp("manage"),
        )
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The store (and manage role), in dev mode with the e2e root token.
    pub fn start_store(&self) -> Server {
        let database = match &self.postgres {
            Some(url) => format!("[store]\npostgres = \"{url}\"\n"),
            None => String::new(),
        };
        let config = self.write(
            "store",
            &format!(
                "data_dir = \"{}\"\nlisten = \"{STORE_IP}:0\"\nhttp_workers = 2\ncrypto_workers = 2\n\
                 roles = [\"store\", \"manage\"]\n\n{}\n{database}",
                self.path("store").display(),
                self.internal_section("store", &self.pins()),
            ),
        );
        let args: Vec<std::ffi::OsString> = vec![
            "serve".into(),
            "--config".into(),
            config.into(),
            "--dev".into(),
            "--dev-root-token".into(),
            ROOT.into(),
        ];
        Server::spawn(&args, &[]).unwrap_or_else(|e| panic!("the store did not start:\n{e}"))
    }

    fn node_config(&self, name: &str, ip: &str, roles: &str, zone: Option<&str>) -> PathBuf {
        self.node_config_with(name, ip, roles, zone, "")
    }

    /// A node's kms.toml, with `extra` (whole sections) at the end.
    fn node_config_with(
        &self,
        name: &str,
        ip: &str,
        roles: &str,
        zone: Option<&str>,
        extra: &str,
    ) -> PathBuf {
        let zone = zone.map_or_else(String::new, |z| format!("[zone]\nname = \"{z}\"\n"));
        self.write(
            name,
            &format!(
                "data_dir = \"{}\"\nlisten = \"{ip}:0\"\nhttp_workers = 2\ncrypto_workers = 2\n\
                 roles = {roles}\n\n{}\n{zone}\n{extra}",
                self.path(name).display(),
                self.internal_section(
                    if name.starts_with('n') {
                        name
                    } else {
                        "manage"
                    },
                    &format!("store = \"{}\"", self.internal_url())
                ),
            ),
        )
    }

    pub fn try_start_service(&self, name: &str, ip: &str, zone: &str) -> Result<Server, String> {
        let config = self.node_config(name, ip, "[\"service\"]", Some(zone));
        Server::try_start(&config, &[])
    }

    /// A service node with `extra` sections in its kms.toml (`[server]`, say).
    pub fn start_service_with(&self, name: &str, ip: &str, zone: &str, extra: &str) -> Server {
        let config = self.node_config_with(name, ip, "[\"service\"]", Some(zone), extra);
        Server::start(&config, &[])
    }

    pub fn start_service(&self, name: &str, ip: &str, zone: &str) -> Server {
        self.try_start_service(name, ip, zone)
            .unwrap_or_else(|e| panic!("service node {name} did not start:\n{e}"))
    }

    pub fn start_manage(&self, ip: &str) -> Server {
        let config = self.node_config("manage", ip, "[\"manage\"]", None);
        Server::start(&config, &[])
    }

    /// `kms zone keygen` for `node`'s data directory; the public key in `<zone>.pub.pem` and the
    /// private key in `<zone>.key.pem` (for the zone's other nodes, and for the test).
    pub fn zone_keygen(&self, node: &str, zone: &str) {
        let data = self.path(node);
        let run = kms_offline(
            &[
                "zone",
                "keygen",
                "--zone",
                zone,
                "--data-dir",
                data.to_str().unwrap(),
                "--public-out",
                self.path(&format!("{zone}.pub.pem")).to_str().unwrap(),
                "--private-out",
                self.path(&format!("{zone}.key.pem")).to_str().unwrap(),
            ],
            "",
            &[],
        );
        assert!(run.ok, "{}", run.stderr);
    }

    /// Registers `zone` with the store (root token), its public key from `zone_keygen`.
    pub fn register_zone(&self, admin: &Http, zone: &str) {
        let pem = read_pem(&self.path(&format!("{zone}.pub.pem")));
        let (s, b) = admin.post(
            "/v1/admin/zones",
            Some(ROOT),
            &json!({ "name": zone, "public_key": pem }),
        );
        assert_eq!(s, 200, "{b}");
    }

    pub fn zone_import(&self, node: &str, zone: &str) {
        let data = self.path(node);
        let run = kms_offline(
            &[
                "zone",
                "import",
                "--zone",
                zone,
                "--data-dir",
                data.to_str().unwrap(),
                "--key",
                self.path(&format!("{zone}.key.pem")).to_str().unwrap(),
            ],
            "",
            &[],
        );
        assert!(run.ok, "{}", run.stderr);
    }

    /// `cert`'s SHA-256 fingerprint as the store prints it (lowercase hex).
    pub fn fingerprint(&self, cert: &str) -> String {
        self.pki.fingerprint(cert).replace(':', "").to_lowercase()
    }

    /// A client of the store's internal API presenting `cert`'s certificate.
    pub fn internal(&self, cert: Option<&str>) -> Http {
        self.pki.http_at(&self.internal_url(), cert)
    }
}

fn read_pem(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn ready_status(node: &Server) -> String {
    let (_, body) = node.http().get("/readyz", None);
    body["status"].as_str().unwrap_or_default().to_owned()
}

/// Encrypts on `node` until the ciphertext is under `version`.
fn encrypts_under(node: &Server, token: &str, version: u32) -> bool {
    let (s, b) = node.http().encrypt(token, "cards", b"4111", None);
    s == 200
        && b["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with(&format!("kms:{version:05}:"))
}

/// The calls of `op` on `cards` version `version` in the store's usage series (last 24 hours).
fn in_series(admin: &Http, version: u64, op: &str) -> u64 {
    let (s, series) = admin.get("/v1/admin/keys/cards/usage", Some(ROOT));
    assert_eq!(s, 200, "{series}");
    series["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["version"] == version)
        .flat_map(|v| v["points"].as_array().unwrap().iter())
        .map(|p| p["operations"][op].as_u64().unwrap_or(0))
        .sum()
}

/// The whole cluster story on one store; `postgres` chooses the store's database.
pub fn cluster_serves_through_rotation_outage_and_node_loss(postgres: Option<String>) {
    let cluster = Cluster::new(postgres);
    let store = cluster.start_store();
    let admin = store.http();

    // Zone keys: n1 makes zone A's pair, n2 imports it; n3 makes zone B's. Both registered.
    cluster.zone_keygen("n1", "zone-a");
    cluster.zone_import("n2", "zone-a");
    cluster.zone_keygen("n3", "zone-b");
    // A node of a zone the store does not know, with no disk cache yet, does not start.
    let refused = cluster
        .try_start_service("n3", "127.0.0.5", "zone-b")
        .map(|_| ());
    let message = refused.expect_err("a node of an unregistered zone started");
    assert!(message.contains("zone_not_found"), "{message}");
    for zone in ["zone-a", "zone-b"] {
        cluster.register_zone(&admin, zone);
    }
    admin.create_key("cards");
    let token = admin.create_app("checkout");
    admin.grant("cards", "checkout", &["encrypt", "decrypt"]);

    let n1 = cluster.start_service("n1", "127.0.0.3", "zone-a");
    let mut n2 = cluster.start_service("n2", "127.0.0.4", "zone-a");
    let n3 = cluster.start_service("n3", "127.0.0.5", "zone-b");
    let manage = cluster.start_manage("127.0.0.6");

    // One key in every zone: what one node encrypts, every other decrypts.
    let ct = n1
        .http()
        .seal(&token, "cards", b"4111 1111 1111 1111", None);
    assert!(ct.starts_with("kms:00001:"), "{ct}");
    for node in [&n2, &n3] {
        assert_eq!(
            node.http().open(&token, "cards", &ct, None),
            b"4111 1111 1111 1111"
        );
    }
    // Service nodes serve no control plane.
    let (s, _) = n1.http().get("/v1/admin/keys", Some(ROOT));
    assert_eq!(s, 404);

    // The manage node forwards the control plane: a rotation through it reaches every node.
    let (s, b) = manage.http().post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "scheduled" }),
    );
    assert_eq!(s, 200, "{b}");
    let started = Instant::now();
    for node in [&n1, &n2, &n3] {
        eventually(Duration::from_secs(10), "rotation to reach a node", || {
            encrypts_under(node, &token, 2)
        });
    }
    println!(
        "cluster: rotation served by all three service nodes {} ms after the store committed it",
        started.elapsed().as_millis()
    );
    // The audit log names the caller the manage node forwarded.
    let (_, log) = admin.get("/v1/admin/audit?action=rotate_key", Some(ROOT));
    let remote = log["entries"][0]["remote"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(remote, "127.0.0.1", "{log}");

    // The service nodes' use reaches the store's usage series through the internal API:
    // version 1 decrypted once on each of n2 and n3, encrypted on n1 (and by rotation probes that
    // ran before the rotation reached their node); version 2 encrypted by each node's probe.
    eventually(
        Duration::from_secs(20),
        "service nodes' usage in the series",
        || {
            in_series(&admin, 1, "decrypt") == 2
                && in_series(&admin, 1, "encrypt") >= 1
                && in_series(&admin, 2, "encrypt") >= 3
        },
    );

    zone_isolation(&cluster);

    // The store goes away: nodes keep serving every cached key, degraded; creating a key through
    // the manage node fails with 503 store_unavailable.
    store.kill();
    for node in [&n1, &n2, &n3] {
        eventually(Duration::from_secs(15), "a node to report degraded", || {
            ready_status(node) == "degraded"
        });
        assert!(encrypts_under(node, &token, 2));
        assert_eq!(
            node.http().open(&token, "cards", &ct, None),
            b"4111 1111 1111 1111"
        );
    }
    let (s, b) = manage
        .http()
        .post("/v1/admin/keys", Some(ROOT), &json!({ "name": "new-key" }));
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (503, Some("store_unavailable")),
        "{b}"
    );

    // A node restarted during the outage serves from its disk cache.
    n2.kill();
    n2 = cluster.start_service("n2", "127.0.0.4", "zone-a");
    assert_eq!(ready_status(&n2), "degraded");
    assert_eq!(
        n2.http().open(&token, "cards", &ct, None),
        b"4111 1111 1111 1111"
    );
    assert!(encrypts_under(&n2, &token, 2));

    // The store returns; the nodes catch up and see what is committed after.
    let store = cluster.start_store();
    for node in [&n1, &n2, &n3] {
        eventually(Duration::from_secs(15), "a node to be ready again", || {
            ready_status(node) == "ready"
        });
    }
    let (s, b) = store.http().post(
        "/v1/admin/keys/cards/rotate",
        Some(ROOT),
        &json!({ "reason": "after the outage" }),
    );
    assert_eq!(s, 200, "{b}");
    for node in [&n1, &n2, &n3] {
        eventually(Duration::from_secs(10), "the next rotation", || {
            encrypts_under(node, &token, 3)
        });
    }

    // kill -9 a node under load: every ciphertext it acknowledged decrypts on the others.
    let acknowledged = encrypt_until_killed(n1, &token);
    assert!(
        acknowledged.len() > 10,
        "only {} acknowledged",
        acknowledged.len()
    );
    for (i, (plaintext, ciphertext)) in acknowledged.iter().enumerate() {
        let node = if i % 2 == 0 { &n2 } else { &n3 };
        assert_eq!(
            &node.http().open(&token, "cards", ciphertext, None),
            plaintext
        );
    }
    println!(
        "cluster: {} ciphertexts acknowledged by the killed node all decrypt on the others",
        acknowledged.len()
    );
}

/// Encrypts on `node` from a second thread while the node is killed; returns what it
/// acknowledged (200 with a ciphertext).
fn encrypt_until_killed(node: Server, token: &str) -> Vec<(Vec<u8>, String)> {
    let http = node.http();
    let token = token.to_owned();
    let load = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for i in 0u64.. {
            let plaintext = format!("card {i}").into_bytes();
            let body = json!({ "plaintext": crate::support::b64(&plaintext) });
            // Until the kill: then the connection fails (the request in flight is not
            // acknowledged) and the load stops.
            match http.try_post("/v1/keys/cards/encrypt", Some(&token), &body) {
                Ok((200, b)) => {
                    acknowledged.push((plaintext, b["ciphertext"].as_str().unwrap().to_owned()));
                }
                _ => break,
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(1500));
    node.kill();
    load.join().unwrap()
}

/// Zone B's transport blobs open with zone B's key only; the internal API wants a client
/// certificate from the internal CA.
fn zone_isolation(cluster: &Cluster) {
    use kms_engine::ids::{KeyId, KeyVersion};
    use kms_engine::zone::ZonePrivateKey;

    let (s, keys) = cluster
        .internal(Some("n3"))
        .get("/internal/v1/zones/zone-b/keys", None);
    assert_eq!(s, 200, "{keys}");
    let cards = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "cards")
        .unwrap();
    let version = &cards["versions"][1];
    let blob = crate::support::unb64(version["blob"].as_str().unwrap());
    assert_eq!(version["master_key"], "zone:zone-b");
    let context = kms_engine::wrap::WrapContext {
        key: KeyId::parse(cards["id"].as_str().unwrap()).unwrap(),
        version: KeyVersion::new(2).unwrap(),
        algorithm: kms_engine::algorithm::Algorithm::from_code(
            cards["algorithm"].as_i64().unwrap(),
        )
        .unwrap(),
    };
    let key = |zone: &str| {
        ZonePrivateKey::from_pem(&read_pem(&cluster.path(&format!("{zone}.key.pem")))).unwrap()
    };
    assert!(key("zone-a").unwrap_transport(&context, &blob).is_err());
    assert!(key("zone-b").unwrap_transport(&context, &blob).is_ok());
    // The reserved system keys never leave the store.
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| !k["name"].as_str().unwrap().starts_with("kms-system."))
    );
    // Another zone, known or not, is refused (tests/e2e/internal.rs); a client without a
    // certificate fails the handshake.
    let (s, b) = cluster
        .internal(Some("n1"))
        .get("/internal/v1/zones/zone-c/keys", None);
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (403, Some("zone_mismatch")),
        "{b}"
    );
    let refused = cluster
        .internal(None)
        .try_post("/internal/v1/usage", None, &json!([]));
    assert!(
        refused.is_err(),
        "a client without a certificate got {refused:?}"
    );
}

#[test]
fn cluster_on_sqlite_serves_through_rotation_outage_and_node_loss() {
    cluster_serves_through_rotation_outage_and_node_loss(None);
}

/// The same on PostgreSQL (a database of its own, dropped afterwards): the store process holds
/// the only database credentials.
#[test]
fn cluster_on_postgres_serves_through_rotation_outage_and_node_loss() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(crate::pg::TestDb::create());
    let admin = crate::pg::admin_url();
    let server = admin.rsplit_once('/').map_or(admin.as_str(), |(s, _)| s);
    cluster_serves_through_rotation_outage_and_node_loss(Some(format!("{server}/{}", db.name)));
    drop(db);
}
