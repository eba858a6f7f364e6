//! nginx (the Debian package) in front of a zone's service nodes, routed on `/readyz` by
//! scripts/nginx-upstreams.sh, with the nginx.conf of docs/deployment.md ("Load balancing with
//! nginx"): the zone is one address, and killing a node under load fails at most the requests in
//! flight on it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::support::{Http, ROOT, eventually, free_port};

const CLIENTS: usize = 3;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The nginx binary (in /usr/sbin, often not on PATH); panics when it is not installed.
fn nginx_binary() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("nginx is not installed: apt-get install nginx (scripts/deps.sh installs it)")
        })
}

/// The `nginx` block of docs/deployment.md's "Load balancing with nginx", listening on `listen`
/// and including `upstreams`.
fn documented_config(listen: &str, upstreams: &Path) -> String {
    let docs = crate::docs::read("docs/deployment.md");
    let section = &docs[docs.find("## Load balancing with nginx").unwrap()..];
    let block = &section[section.find("```nginx\n").unwrap() + 9..];
    let block = &block[..block.find("```").unwrap()];
    for needle in [
        "10.1.0.10:8200",
        "/etc/nginx/kms-zone-a.upstreams",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
    ] {
        assert!(
            block.contains(needle),
            "{needle} is not in the documented nginx.conf"
        );
    }
    block.replace("10.1.0.10:8200", listen).replace(
        "/etc/nginx/kms-zone-a.upstreams",
        upstreams.to_str().unwrap(),
    )
}

/// An nginx master process of its own, every path under `dir`; stopped on drop.
struct Nginx {
    child: Child,
    args: Vec<String>,
    addr: String,
    dir: PathBuf,
}

impl Nginx {
    /// The files nginx and the watcher share: its nginx.conf and the upstream file.
    fn paths(dir: &Path) -> (PathBuf, PathBuf) {
        (dir.join("nginx.conf"), dir.join("zone-a.upstreams"))
    }

    fn write_config(dir: &Path) -> String {
        std::fs::create_dir_all(dir).unwrap();
        let listen = format!("127.0.0.1:{}", free_port("127.0.0.1"));
        let (conf, upstreams) = Self::paths(dir);
        let d = dir.display();
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let text = format!(
            "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\nhttp {{\n\
             log_format upstreams '$status $upstream_addr $upstream_status';\n\
             access_log {d}/access.log upstreams;\n\
             client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
             {}\n}}\n",
            documented_config(&listen, &upstreams),
            // Workers would otherwise run as nobody, outside the test's private directory.
            user = if root { "user root;\n" } else { "" },
        );
        std::fs::write(conf, text).unwrap();
        listen
    }

    fn start(dir: &Path, listen: &str) -> Self {
        let (conf, _) = Self::paths(dir);
        let args: Vec<String> = vec![
            "-c".into(),
            conf.to_str().unwrap().into(),
            "-p".into(),
            dir.to_str().unwrap().into(),
            "-e".into(),
            dir.join("error.log").to_str().unwrap().into(),
        ];
        let check = Command::new(nginx_binary())
            .args(&args)
            .arg("-t")
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "nginx -t refused the configuration:\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let mut child = Command::new(nginx_binary())
            .args(&args)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        eventually(Duration::from_secs(10), "nginx to listen", || {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}):\n{log}");
            }
            TcpStream::connect(listen).is_ok()
        });
        Self {
            child,
            args,
            addr: format!("http://{listen}"),
            dir: dir.to_owned(),
        }
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM through the pid file: the master stops its workers (SIGKILL would orphan them).
        let _ = Command::new(nginx_binary())
            .args(&self.args)
            .args(["-s", "stop"])
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// scripts/nginx-upstreams.sh as the docs run it; killed on drop.
struct Watcher(Child);

impl Watcher {
    fn start(dir: &Path, nodes: &[&str]) -> Self {
        let (conf, upstreams) = Nginx::paths(dir);
        let child = Command::new("bash")
            .arg(repo("scripts/nginx-upstreams.sh"))
            .arg("-o")
            .arg(upstreams)
            .args(["-i", "200", "-c"])
            .arg(conf)
            .arg("-p")
            .arg(dir)
            .args(nodes)
            .env("NGINX", nginx_binary())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Outcome = (Vec<(Vec<u8>, String)>, Vec<(Instant, String)>);

/// One application thread: encrypts through `addr` until `stop`; what was acknowledged, and
/// what failed.
fn application(addr: String, token: String, thread: usize, stop: Arc<AtomicBool>) -> Outcome {
    let http = Http::at(&addr);
    let (mut acknowledged, mut failed) = (Vec::new(), Vec::new());
    for i in 0u64.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let plaintext = format!("card {thread}-{i}").into_bytes();
        let body = json!({ "plaintext": crate::support::b64(&plaintext) });
        match http.try_post("/v1/keys/cards/encrypt", Some(&token), &body) {
            Ok((200, b)) => {
                acknowledged.push((plaintext, b["ciphertext"].as_str().unwrap().to_owned()));
            }
            Ok((s, b)) => failed.push((Instant::now(), format!("{s} {b}"))),
            Err(e) => failed.push((Instant::now(), e.to_string())),
        }
    }
    (acknowledged, failed)
}

#[test]
fn nginx_routes_a_zone_on_readyz_and_rides_out_a_killed_node() {
    let nginx_bin = nginx_binary();
    let cluster = Cluster::new(None);
    let store = cluster.start_store();
    let admin = store.http();
    cluster.zone_keygen("n1", "zone-a");
    cluster.zone_import("n2", "zone-a");
    cluster.register_zone(&admin, "zone-a");
    admin.create_key("cards");
    let token = admin.create_app("checkout");
    admin.grant("cards", "checkout", &["encrypt", "decrypt"]);
    let n1 = cluster.start_service("n1", "127.0.0.7", "zone-a");
    let n2 = cluster.start_service("n2", "127.0.0.8", "zone-a");
    let hostport = |s: &crate::process::Server| s.addr.trim_start_matches("http://").to_owned();
    let (n1_at, n2_at) = (hostport(&n1), hostport(&n2));

    // The watcher writes the upstream file first; nginx starts on it.
    let dir = cluster.path("nginx");
    let listen = Nginx::write_config(&dir);
    let upstreams = Nginx::paths(&dir).1;
    let watcher = Watcher::start(&dir, &[&n1.addr, &n2.addr]);
    let both_up = format!(
        "server {n1_at} max_fails=1 fail_timeout=2s;\nserver {n2_at} max_fails=1 fail_timeout=2s;\n"
    );
    eventually(Duration::from_secs(20), "both nodes up in the file", || {
        std::fs::read_to_string(&upstreams).unwrap_or_default() == both_up
    });
    let nginx = Nginx::start(&dir, &listen);
    println!(
        "nginx: {} ({}) in front of {n1_at} and {n2_at}",
        nginx.addr,
        nginx_bin.display()
    );

    // Applications encrypt through the zone's one address; n1 is killed under load.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (addr, token, stop) = (nginx.addr.clone(), token.clone(), Arc::clone(&stop));
            std::thread::spawn(move || application(addr, token, t, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let before_kill = nginx.access_log();
    n1.kill();
    let killed = Instant::now();
    std::thread::sleep(Duration::from_millis(2000));
    stop.store(true, Ordering::Relaxed);
    let (mut acknowledged, mut failed) = (Vec::new(), Vec::new());
    for client in clients {
        let (a, f) = client.join().unwrap();
        acknowledged.extend(a);
        failed.extend(f);
    }
    // When each failure happened, in ms after the kill (negative: before).
    let failed: Vec<String> = failed
        .into_iter()
        .map(|(at, what)| {
            let ms = at.checked_duration_since(killed).map_or_else(
                || -(killed.duration_since(at).as_millis() as i64),
                |d| d.as_millis() as i64,
            );
            format!("{ms} ms: {what}")
        })
        .collect();
    let log = nginx.access_log();
    let retried = log.lines().filter(|l| l.contains(", ")).count();
    println!(
        "nginx: {} requests acknowledged, {} failed ({failed:?}), {retried} retried by nginx on \
         the other node; n1 served {} before the kill",
        acknowledged.len(),
        failed.len(),
        before_kill.matches(n1_at.as_str()).count(),
    );
    assert!(
        before_kill.contains(&n1_at) && before_kill.contains(&n2_at),
        "nginx did not balance over both nodes:\n{before_kill}"
    );
    assert!(
        acknowledged.len() > 10,
        "only {} acknowledged",
        acknowledged.len()
    );
    assert!(
        failed.len() <= CLIENTS,
        "{} failures with {CLIENTS} requests in flight at most: {failed:?}",
        failed.len()
    );

    // The watcher marks the killed node down; everything acknowledged decrypts through nginx.
    let waited = eventually(Duration::from_secs(20), "n1 marked down", || {
        std::fs::read_to_string(&upstreams)
            .unwrap_or_default()
            .contains(&format!("server {n1_at} down;"))
    });
    println!(
        "nginx: the upstream file marked n1 down {} ms after the load stopped",
        waited.as_millis()
    );
    let http = Http::at(&nginx.addr);
    for (plaintext, ciphertext) in &acknowledged {
        assert_eq!(&http.open(&token, "cards", ciphertext, None), plaintext);
    }
    println!(
        "nginx: all {} acknowledged ciphertexts decrypt through nginx",
        acknowledged.len()
    );
    // The watcher first: it would reload an nginx that is gone.
    drop(watcher);
}

/// `curl` from the source address `from` (all of 127.0.0.0/8 is local), POSTing an encryption
/// with `token`, and `X-Forwarded-For: forged` if given: the status and the JSON body.
fn encrypt_from(from: &str, url: &str, token: &str, forged: Option<&str>) -> (u16, Value) {
    let body = json!({ "plaintext": crate::support::b64(b"4111") }).to_string();
    let mut curl = Command::new("curl");
    curl.args(["-s", "--interface", from, "-w", "\n%{http_code}"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", "Content-Type: application/json", "-d", &body]);
    if let Some(forged) = forged {
        curl.args(["-H", &format!("X-Forwarded-For: {forged}")]);
    }
    let out = curl.arg(url).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// The attack: a key limited to a range of client addresses, behind the
/// documented nginx. Without `trusted_proxies` the node sees nginx's address, so the range either
/// locks everyone out or, widened to nginx, lets everyone in. With it, the node believes nginx's
/// `X-Forwarded-For` and nobody else's: a client inside the range passes, one outside is
/// refused, and a forged header, through nginx or straight to the node, does not help.
#[test]
fn behind_nginx_a_cidr_policy_sees_the_client_and_forged_headers_do_not_help() {
    let cluster = Cluster::new(None);
    let store = cluster.start_store();
    let admin = store.http();
    cluster.zone_keygen("n1", "zone-a");
    cluster.register_zone(&admin, "zone-a");
    admin.create_key("cards");
    let token = admin.create_app("checkout");
    admin.grant("cards", "checkout", &["encrypt"]);
    let policy = json!({ "allowed_cidrs": ["127.0.0.16/28"] });
    let (s, b) = admin.post("/v1/admin/keys/cards/policy", Some(ROOT), &policy);
    assert_eq!(s, 200, "{b}");
    // nginx connects to the node from 127.0.0.1.
    let trusted = "[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n";
    let n1 = cluster.start_service_with("n1", "127.0.0.7", "zone-a", trusted);
    let n1_at = n1.addr.trim_start_matches("http://").to_owned();
    let dir = cluster.path("nginx");
    let listen = Nginx::write_config(&dir);
    std::fs::write(Nginx::paths(&dir).1, format!("server {n1_at};\n")).unwrap();
    let nginx = Nginx::start(&dir, &listen);
    let url = format!("{}/v1/keys/cards/encrypt", nginx.addr);

    let (s, b) = encrypt_from("127.0.0.20", &url, &token, None);
    assert_eq!(
        s, 200,
        "a client inside the range was refused through nginx: {b}"
    );
    let refused = |(s, b): (u16, Value)| {
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("source_not_allowed")),
            "{b}"
        );
    };
    refused(encrypt_from("127.0.0.40", &url, &token, None));
    // nginx appends the address it saw; what the client wrote before it is not believed.
    refused(encrypt_from("127.0.0.40", &url, &token, Some("127.0.0.20")));
    // Straight to the node, from a peer that is not a trusted proxy: the header is ignored.
    let direct = format!("{}/v1/keys/cards/encrypt", n1.addr);
    refused(encrypt_from(
        "127.0.0.40",
        &direct,
        &token,
        Some("127.0.0.20"),
    ));
    // The refusals are on record under the client's own address (the store's audit log, sent by
    // the node).
    eventually(
        Duration::from_secs(10),
        "the node's refusals in the audit log",
        || {
            let (_, log) = admin.get("/v1/admin/audit?action=encrypt", Some(ROOT));
            let remotes: Vec<&str> = log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["code"] == "source_not_allowed")
                .filter_map(|e| e["remote"].as_str())
                .collect();
            remotes == ["127.0.0.40"; 3]
        },
    );
}
