//! The server's log (stderr, through `tracing`): one line per event, whatever callers send.
//!
//! Field values and messages often carry what a caller chose (a user or custodian name at login,
//! an app or key name in an error): a newline in one would end the line and let the caller forge
//! the next one. Every field and message is therefore written through [`Escaped`], which writes
//! control characters (and the Unicode line and paragraph separators) as Rust escapes (`\n`,
//! `\u{1b}`), so nothing a caller sends can start a line or drive a terminal.

use std::fmt::{self, Write};
use std::io::IsTerminal;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{self, Writer};

/// Writes through to `inner`, escaping control characters.
pub struct Escaped<'a, W: Write + ?Sized>(pub &'a mut W);

impl<W: Write + ?Sized> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                write!(self.0, "{}", c.escape_default())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// The field formatter: `name=value` pairs (the message bare), separated by spaces, every value
/// escaped.
pub fn fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(|w: &mut Writer<'_>, field, value| {
        if field.name() != "message" {
            write!(w, "{}=", field.name())?;
        }
        write!(Escaped(w), "{value:?}")
    })
    .delimited(" ")
}

/// `[log] format` in kms.toml (or `--log-format`): how each event is written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of `time LEVEL target: message name=value ...`, for people.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`, the event's
    /// fields at the top level), for log shippers. JSON escaping keeps every event on one line.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format `{other}`: use `text` or `json`")),
        }
    }
}

/// The filter when `KMS_LOG` is unset or invalid: `info` for everything, access lines included.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the subscriber: stderr, `KMS_LOG` as the filter (default [`DEFAULT_FILTER`]), in
/// `format`. Colour only when stderr is a terminal: a redirected log carries no escape codes.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .fmt_fields(fields())
            .init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        write!(
            Escaped(&mut out),
            "mallory\nINFO forged\r\u{1b}[2J\u{2028}é"
        )
        .unwrap();
        assert_eq!(out, "mallory\\nINFO forged\\r\\u{1b}[2J\\u{2028}é");
    }
}
