//! Copies of the sealed audit chain outside the database: each seal, with the entries it seals
//! that were not shipped yet, is appended as JSON lines to a file (opened with `O_APPEND`,
//! fsynced before the seal counts as shipped) and, optionally, sent to the local syslog socket
//! (`/dev/log`, which journald also reads) in RFC 5424 format.
//!
//! A line is either
//! `{"kind":"entry","seq","at_ms","actor","action","target","outcome","code","remote","detail","prev_hash","hash"}`
//! or `{"kind":"seal","number","seq","head","mac","at_ms"}` (hashes and MACs in hex). The file
//! holds every sealed entry once, in order, so `kms audit verify` can compare the database's
//! chain with it ([`SinkReader`]).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use kms_engine::audit::{AuditEvent, AuditRecord, Outcome, chain_hash};
use kms_engine::clock::Timestamp;
use kms_engine::people::AuditSeal;
use kms_engine::store::{AuditQuery, KeyStore};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::ControlError;

/// Where sealed batches go besides the database (`[audit]` in kms.toml).
pub struct AuditExport {
    file: Option<PathBuf>,
    syslog: Option<PathBuf>,
    /// Serialises sealing (a seal's number is the count before it) and remembers the last entry
    /// the file holds (read from the file on first use).
    state: Mutex<Option<u64>>,
}

/// The next page of audit entries after entry `after`, in order (empty at the end): how the
/// sink and verification walk the chain.
pub(crate) async fn page_after(
    store: &dyn KeyStore,
    after: u64,
) -> Result<Vec<AuditRecord>, ControlError> {
    let query = AuditQuery {
        after_seq: Some(after),
        limit: 10_000,
        ..AuditQuery::default()
    };
    Ok(store.audit_log(&query).await?)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    Entry {
        seq: u64,
        at_ms: i64,
        actor: String,
        action: String,
        target: Option<String>,
        outcome: String,
        code: Option<String>,
        remote: Option<String>,
        detail: Option<String>,
        prev_hash: String,
        hash: String,
    },
    Seal {
        number: u64,
        seq: u64,
        head: String,
        mac: String,
        at_ms: i64,
    },
}

impl Line {
    fn entry(r: &AuditRecord) -> Self {
        let e = &r.event;
        Line::Entry {
            seq: r.seq,
            at_ms: e.at.millis(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.name().to_owned(),
            code: e.code.clone(),
            remote: e.remote.clone(),
            detail: e.detail.clone(),
            prev_hash: hex::encode(r.prev_hash),
            hash: hex::encode(r.hash),
        }
    }

    fn seal(number: u64, s: &AuditSeal) -> Self {
        Line::Seal {
            number,
            seq: s.seq,
            head: hex::encode(s.head),
            mac: hex::encode(s.mac),
            at_ms: s.at.millis(),
        }
    }
}

/// The path the file sink defaults to in a data directory.
pub fn default_file(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.log")
}

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

impl AuditExport {
    pub fn new(file: Option<PathBuf>, syslog: Option<PathBuf>) -> Self {
        Self {
            file,
            syslog,
            state: Mutex::new(None),
        }
    }

    /// No copies outside the database (service nodes, which do not seal).
    pub fn none() -> Self {
        Self::new(None, None)
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Holds the sealing lock for as long as the guard lives.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Option<u64>> {
        self.state.lock().await
    }

    /// Appends the entries after the last one shipped up to `seal.seq`, then the seal, to the
    /// file (fsynced) and to syslog. `shipped` is the guard from [`AuditExport::lock`].
    pub async fn ship(
        &self,
        shipped: &mut Option<u64>,
        store: &dyn KeyStore,
        number: u64,
        seal: &AuditSeal,
    ) -> Result<(), ControlError> {
        if self.file.is_none() && self.syslog.is_none() {
            return Ok(());
        }
        let from = match *shipped {
            Some(n) => n,
            None => match &self.file {
                Some(path) => last_entry_in(path)?,
                // Syslog alone: from the previous seal on (nothing to read back).
                None => 0,
            },
        };
        let mut lines = Vec::new();
        let mut after = from;
        while after < seal.seq {
            let page = page_after(store, after).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            lines.extend(page.iter().filter(|r| r.seq <= seal.seq).map(Line::entry));
        }
        lines.push(Line::seal(number, seal));
        let mut text = Vec::new();
        for line in &lines {
            serde_json::to_writer(&mut text, line).map_err(ControlError::internal)?;
            text.push(b'\n');
        }
        // The fsync and the socket sends block: off the control runtime's two threads.
        let (file, syslog) = (self.file.clone(), self.syslog.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(path) = &file {
                append(path, &text).map_err(|e| {
                    ControlError::internal(format!("audit sink {}: {e}", path.display()))
                })?;
            }
            if let Some(socket) = &syslog {
                send_syslog(socket, &text);
            }
            Ok::<(), ControlError>(())
        })
        .await
        .map_err(ControlError::internal)??;
        *shipped = Some(seal.seq);
        Ok(())
    }
}

fn append(path: &Path, text: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text)?;
    f.sync_data()
}

/// One datagram per line: `<86>1 - - kms - audit - {line}` (facility authpriv, severity info;
/// the receiver stamps time and host). A missing socket is logged, not an error: the file is the
/// copy `verify` reads.
fn send_syslog(socket: &Path, text: &[u8]) {
    let connected = UnixDatagram::unbound().and_then(|s| {
        s.connect(socket)?;
        // A receiver that stops reading must not hold sealing up for long.
        s.set_write_timeout(Some(std::time::Duration::from_secs(2)))?;
        Ok(s)
    });
    let sock = match connected {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(socket = %socket.display(), error = %e, "audit syslog unreachable");
            return;
        }
    };
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut msg = b"<86>1 - - kms - audit - ".to_vec();
        msg.extend_from_slice(line);
        if let Err(e) = sock.send(&msg) {
            tracing::warn!(socket = %socket.display(), error = %e, "audit syslog send failed");
            return;
        }
    }
}

/// The last entry a sink file holds (0 for none or no file).
fn last_entry_in(path: &Path) -> Result<u64, ControlError> {
    let mut last = 0;
    match SinkReader::open(path)? {
        None => Ok(0),
        Some(mut reader) => {
            while let Some(item) = reader.next_item()? {
                if let SinkItem::Entry { seq, .. } = item {
                    last = seq;
                }
            }
            Ok(last)
        }
    }
}

/// What one line of a sink file says, checked.
#[derive(Debug)]
pub enum SinkItem {
    Entry {
        seq: u64,
        hash: [u8; 32],
    },
    Seal {
        number: u64,
        seq: u64,
        mac: [u8; 32],
    },
}

/// Reads a sink file line by line. An entry line must hash to the hash it carries (so the file
/// is not trusted blindly: a line edited by hand is named as corrupt).
pub struct SinkReader {
    lines: std::io::Lines<BufReader<std::fs::File>>,
    line_no: u64,
    path: PathBuf,
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

impl SinkReader {
    /// `None` when the file does not exist.
    pub fn open(path: &Path) -> Result<Option<Self>, ControlError> {
        match std::fs::File::open(path) {
            Ok(f) => Ok(Some(Self {
                lines: BufReader::new(f).lines(),
                line_no: 0,
                path: path.to_owned(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ControlError::internal(format!("{}: {e}", path.display()))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn next_item(&mut self) -> Result<Option<SinkItem>, ControlError> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        self.line_no += 1;
        let corrupt = |why: &str| {
            ControlError::invalid(
                "audit_sink_corrupt",
                format!(
                    "audit sink {} line {}: {why}",
                    self.path.display(),
                    self.line_no
                ),
            )
        };
        let line = line.map_err(|e| corrupt(&e.to_string()))?;
        let parsed: Line = serde_json::from_str(&line).map_err(|e| corrupt(&e.to_string()))?;
        Ok(Some(match parsed {
            Line::Seal {
                number, seq, mac, ..
            } => SinkItem::Seal {
                number,
                seq,
                mac: hex32(&mac).ok_or_else(|| corrupt("bad mac"))?,
            },
            Line::Entry {
                seq,
                at_ms,
                actor,
                action,
                target,
                outcome,
                code,
                remote,
                detail,
                prev_hash,
                hash,
            } => {
                let outcome = [Outcome::Success, Outcome::Denied, Outcome::Failed]
                    .into_iter()
                    .find(|o| o.name() == outcome)
                    .ok_or_else(|| corrupt("unknown outcome"))?;
                let event = AuditEvent {
                    at: Timestamp::from_millis(at_ms),
                    actor,
                    action,
                    target,
                    outcome,
                    code,
                    remote,
                    detail,
                };
                let prev = hex32(&prev_hash).ok_or_else(|| corrupt("bad prev_hash"))?;
                let hash = hex32(&hash).ok_or_else(|| corrupt("bad hash"))?;
                if chain_hash(&prev, seq, &event) != hash {
                    return Err(corrupt("the entry does not match its hash"));
                }
                SinkItem::Entry { seq, hash }
            }
        }))
    }
}

/// Compares the database's entries, fed in order, with a sink file's copies.
pub struct SinkCheck {
    reader: SinkReader,
    pending: Option<(u64, [u8; 32])>,
    /// The last entry and the last seal number the file holds.
    through: u64,
    seals: u64,
}

/// What a sink file holds.
#[derive(Debug, Serialize)]
pub struct SinkSummary {
    pub path: String,
    /// The last entry it holds.
    pub entries_through: u64,
    /// The last seal's number it holds.
    pub seals: u64,
}

impl SinkCheck {
    /// `None` when the file does not exist.
    pub fn open(path: &Path) -> Result<Option<Self>, ControlError> {
        Ok(SinkReader::open(path)?.map(|reader| Self {
            reader,
            pending: None,
            through: 0,
            seals: 0,
        }))
    }

    fn next_entry(&mut self) -> Result<Option<(u64, [u8; 32])>, ControlError> {
        while let Some(item) = self.reader.next_item()? {
            match item {
                SinkItem::Entry { seq, hash } => {
                    self.through = self.through.max(seq);
                    return Ok(Some((seq, hash)));
                }
                SinkItem::Seal { number, .. } => self.seals = self.seals.max(number),
            }
        }
        Ok(None)
    }

    /// Checks database entry `r` against the file's copy of it, if the file has one: `Some`
    /// describes a difference.
    pub fn feed(&mut self, r: &AuditRecord) -> Result<Option<String>, ControlError> {
        loop {
            let next = match self.pending.take() {
                Some(p) => p,
                None => match self.next_entry()? {
                    Some(p) => p,
                    None => return Ok(None),
                },
            };
            match next.0.cmp(&r.seq) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    return Ok((next.1 != r.hash).then(|| {
                        format!(
                            "entry {} differs from its copy in the audit sink {}: it was \
                             rewritten in the database",
                            r.seq,
                            self.reader.path().display()
                        )
                    }));
                }
                std::cmp::Ordering::Greater => {
                    self.pending = Some(next);
                    return Ok(None);
                }
            }
        }
    }

    /// Reads the rest of the file; says how far it goes.
    pub fn finish(mut self) -> Result<SinkSummary, ControlError> {
        while self.next_entry()?.is_some() {}
        Ok(SinkSummary {
            path: self.reader.path().display().to_string(),
            entries_through: self.through,
            seals: self.seals,
        })
    }
}
