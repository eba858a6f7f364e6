//! What the data commands share: the key, the app's token, where the input comes from and where
//! the output goes, the context, and the call to `/v1/keys/{name}/...` with base64 handled here.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use serde_json::{Value, json};

use crate::args::AddrArgs;
use crate::client::{Auth, CliError, Client};

/// The caller of a data operation: an app's token (or the root token), and the server.
#[derive(Args, Debug)]
pub struct Caller {
    /// The app's token (any token granted the operation on the key); better given as KMS_TOKEN
    /// than on the command line, where other users of the machine can read it.
    #[arg(long, env = "KMS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[command(flatten)]
    pub addr: AddrArgs,
}

impl Caller {
    fn token(&self) -> Result<&str, CliError> {
        self.token.as_deref().ok_or_else(|| {
            CliError::Input(
                "no token: set KMS_TOKEN (or --token) to the app's token (`kms app create` or \
                 `kms app rotate-token` prints one)"
                    .into(),
            )
        })
    }

    /// POSTs `body` to `path` with the token; a `413` also says how to send less.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let token = self.token()?;
        match Client::new(&self.addr.addr)?.post(path, &Auth::Bearer(token), body) {
            Err(CliError::Api {
                status: 413,
                code,
                message,
            }) => Err(CliError::Api {
                status: 413,
                code,
                message: format!(
                    "{message} (the server's --max-body-bytes, default 1 MiB, bounds one request; \
                     the input is sent base64-encoded, a third larger: encrypt large files under a \
                     data key from `kms datakey`)"
                ),
            }),
            other => other,
        }
    }
}

/// A key, a caller, an input and an output: the arguments of every keyed data command.
#[derive(Args, Debug)]
pub struct Keyed {
    /// The key's name.
    #[arg(long)]
    pub key: String,
    #[command(flatten)]
    pub files: Files,
    #[command(flatten)]
    pub caller: Caller,
}

impl Keyed {
    /// `/v1/keys/{key}/{operation}`.
    pub fn path(&self, operation: &str) -> String {
        format!("/v1/keys/{}/{operation}", self.key)
    }
}

/// Where the input comes from and the output goes.
#[derive(Args, Debug)]
pub struct Files {
    /// Read the input from this file instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Write the output to this file instead of standard output (replaced if it exists; a new
    /// file is readable by you alone).
    #[arg(long = "out", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl Files {
    /// The input's bytes, as they are.
    pub fn read(&self) -> Result<Vec<u8>, CliError> {
        match &self.input {
            Some(path) => std::fs::read(path).map_err(|e| file_error(path, &e)),
            None => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut bytes)
                    .map_err(|e| CliError::Input(format!("standard input: {e}")))?;
                Ok(bytes)
            }
        }
    }

    /// The input as one `kms:NNNNN:<base64>` value (a ciphertext, signature or MAC); the
    /// whitespace around it (a trailing newline) is dropped.
    pub fn read_text(&self, what: &str) -> Result<String, CliError> {
        let bytes = self.read()?;
        let text = String::from_utf8(bytes)
            .map_err(|_| CliError::Input(format!("the {what} is not text (kms:NNNNN:...)")))?;
        let text = text.trim();
        if text.is_empty() {
            return Err(CliError::Input(format!(
                "no {what}: give it on standard input or with --in FILE"
            )));
        }
        Ok(text.to_owned())
    }

    /// Writes raw bytes to the output.
    pub fn write(&self, bytes: &[u8]) -> Result<(), CliError> {
        write_to(self.output.as_deref(), bytes)
    }

    /// Writes one text value and a newline to the output.
    pub fn write_line(&self, text: &str) -> Result<(), CliError> {
        self.write(format!("{text}\n").as_bytes())
    }
}

/// Writes `bytes` to `path` (mode 0600 on Unix: plaintexts and data keys go there) or to standard
/// output.
pub fn write_to(path: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match path {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| file_error(path, &e))?;
            file.write_all(bytes).map_err(|e| file_error(path, &e))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::Input(format!("standard output: {e}")))
        }
    }
}

fn file_error(path: &Path, e: &std::io::Error) -> CliError {
    CliError::Input(format!("{}: {e}", path.display()))
}

/// An encryption context: bound to a ciphertext at encryption, needed, identical, to decrypt.
#[derive(Args, Debug)]
pub struct Context {
    /// Encryption context, as text (e.g. an order id): the same is needed to decrypt.
    #[arg(long, conflicts_with = "context_base64")]
    pub context: Option<String>,
    /// Encryption context as base64 bytes (as the HTTP API takes it), for a binary context.
    #[arg(long, value_name = "BASE64")]
    pub context_base64: Option<String>,
}

impl Context {
    /// Adds `"context"` to a request body when one is given.
    pub fn add_to(&self, body: &mut Value) -> Result<(), CliError> {
        let encoded = match (&self.context, &self.context_base64) {
            (Some(text), _) => STANDARD.encode(text.as_bytes()),
            (None, Some(b64)) => {
                decode(b64, "--context-base64")?;
                b64.clone()
            }
            (None, None) => return Ok(()),
        };
        body["context"] = json!(encoded);
        Ok(())
    }
}

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 (padding optional, as the server takes it).
pub fn decode(b64: &str, what: &str) -> Result<Vec<u8>, CliError> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map_err(|e| CliError::Input(format!("{what} is not base64: {e}")))
}

/// A string field of the server's answer.
pub fn field<'a>(answer: &'a Value, name: &str) -> Result<&'a str, CliError> {
    answer[name]
        .as_str()
        .ok_or_else(|| CliError::Input(format!("the server's answer has no `{name}`: {answer}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_sent_as_base64_of_their_text_or_checked_base64() {
        let mut body = json!({});
        let text = Context {
            context: Some("order-1001".into()),
            context_base64: None,
        };
        text.add_to(&mut body).unwrap();
        assert_eq!(body["context"], "b3JkZXItMTAwMQ==");
        let raw = Context {
            context: None,
            context_base64: Some("AAE".into()),
        };
        let mut body = json!({});
        raw.add_to(&mut body).unwrap();
        assert_eq!(body["context"], "AAE");
        let bad = Context {
            context: None,
            context_base64: Some("not base64!".into()),
        };
        let err = bad.add_to(&mut json!({})).unwrap_err().to_string();
        assert!(err.contains("--context-base64 is not base64"), "{err}");
        let mut body = json!({});
        Context {
            context: None,
            context_base64: None,
        }
        .add_to(&mut body)
        .unwrap();
        assert!(body.get("context").is_none());
    }

    #[test]
    fn outputs_written_to_a_file_are_private_and_text_inputs_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plain");
        let files = Files {
            input: Some(out.clone()),
            output: Some(out.clone()),
        };
        files.write_line("kms:00001:AAAA").unwrap();
        assert_eq!(files.read_text("ciphertext").unwrap(), "kms:00001:AAAA");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        files.write(b"  \n").unwrap();
        let err = files.read_text("ciphertext").unwrap_err().to_string();
        assert!(err.contains("no ciphertext"), "{err}");
        assert_eq!(decode("AAE", "x").unwrap(), vec![0, 1]);
        assert_eq!(decode("AAE=", "x").unwrap(), vec![0, 1]);
    }
}
