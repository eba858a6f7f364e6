//! A scripted stand-in for a KMS node: it speaks HTTP/1.1 with keep-alive and pipelining on
//! 127.0.0.1:0 and answers each request as the test's script says, so that failures the real
//! server never produces on demand (a hang, a cut connection, a 503 with `Retry-After`) can be.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the node does with one request.
pub enum Reply {
    /// Status, extra header lines (`Name: value`), JSON body.
    Answer(u16, Vec<String>, String),
    /// Never answers (the connection stays open).
    Hang,
    /// Closes the connection without answering.
    Close,
}

pub fn ok(body: &str) -> Reply {
    Reply::Answer(200, Vec::new(), body.to_owned())
}

pub fn error(status: u16, code: &str, headers: &[&str]) -> Reply {
    Reply::Answer(
        status,
        headers.iter().map(|h| (*h).to_owned()).collect(),
        format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"scripted\"}}}}"),
    )
}

/// One request as the node saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub body: String,
    pub authorization: Option<String>,
}

type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

pub struct FakeNode {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
}

impl FakeNode {
    /// Starts a node; `script(request, n)` decides the `n`-th request's reply (from 0).
    /// `hold`: answers on a connection wait until this many requests are pending on it (to
    /// prove that they were pipelined).
    pub async fn start(
        hold: usize,
        script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (reqs, conns) = (Arc::clone(&requests), Arc::clone(&connections));
        let counter = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                conns.fetch_add(1, Ordering::SeqCst);
                let (script, reqs, counter) =
                    (Arc::clone(&script), Arc::clone(&reqs), Arc::clone(&counter));
                tokio::spawn(serve(stream, hold, script, reqs, counter));
            }
        });
        Self {
            url,
            requests,
            connections,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn count_path(&self, suffix: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.ends_with(suffix))
            .count()
    }
}

/// An address where nothing listens.
pub fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// Parses one request from the front of `buf`: the request and its length.
fn parse(buf: &[u8]) -> Option<(Seen, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(buf).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8(h.value.to_vec()).unwrap())
    };
    let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
    if buf.len() < head + len {
        return None;
    }
    Some((
        Seen {
            path: req.path.unwrap().to_owned(),
            body: String::from_utf8(buf[head..head + len].to_vec()).unwrap(),
            authorization: header("authorization"),
        },
        head + len,
    ))
}

async fn serve(
    mut stream: TcpStream,
    hold: usize,
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
    counter: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut pending: Vec<Seen> = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        while let Some((req, used)) = parse(&buf) {
            buf.drain(..used);
            seen.lock().unwrap().push(req.clone());
            pending.push(req);
        }
        if !pending.is_empty() && pending.len() >= hold {
            for req in pending.drain(..) {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                match script(&req, n) {
                    Reply::Answer(status, headers, body) => {
                        let closing = headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case("connection: close"));
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                            body.len()
                        );
                        for h in headers {
                            out.push_str(&h);
                            out.push_str("\r\n");
                        }
                        out.push_str("\r\n");
                        out.push_str(&body);
                        if stream.write_all(out.as_bytes()).await.is_err() || closing {
                            // As a server does after `Connection: close`: whatever was
                            // pipelined behind is not answered.
                            return;
                        }
                    }
                    Reply::Hang => std::future::pending::<()>().await,
                    Reply::Close => return,
                }
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A node that serves the data plane like the KMS would, without cryptography: `encrypt`
/// answers `kms:00001:` + the item's plaintext and context (base64, joined by `.`), so that
/// each caller can check it got its own result; `decrypt` reverses it. Batches answer
/// `results` in order.
pub fn echo_kms(seen: &Seen, _n: usize) -> Reply {
    use serde_json::{Value, json};
    if seen.path == "/readyz" {
        return ok("{\"status\":\"ready\"}");
    }
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    let one = |item: &Value| -> Value {
        let ctx = item["context"].as_str().unwrap_or("");
        if seen.path.ends_with("/encrypt") {
            let pt = item["plaintext"].as_str().unwrap();
            let key = seen.path.split('/').nth(3).unwrap();
            json!({ "ciphertext": format!("kms:00001:{key}.{pt}.{ctx}"), "key_version": 1 })
        } else {
            let ct = item["ciphertext"].as_str().unwrap();
            let mut parts = ct["kms:00001:".len()..].split('.');
            let (_key, pt, c) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
            if c == ctx {
                json!({ "plaintext": pt })
            } else {
                json!({ "error": { "code": "decryption_failed", "message": "no" } })
            }
        }
    };
    let answer = match body.get("items") {
        Some(items) => {
            json!({ "results": items.as_array().unwrap().iter().map(one).collect::<Vec<_>>() })
        }
        None => {
            let r = one(&body);
            if r.get("error").is_some() {
                return error(400, "decryption_failed", &[]);
            }
            r
        }
    };
    ok(&answer.to_string())
}
