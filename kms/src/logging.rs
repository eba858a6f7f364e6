//! The server's log (stderr, through `tracing`): one line per event, whatever callers send.
//!
//! Field values and messages often carry what a caller chose (a user or custodian name at login,
//! an app or key name in an error): a newline in one would end the line and let the caller forge
//! the next one. Every field and message is therefore written through [`Escaped`], which writes
//! control characters (and the Unicode line and paragraph separators) as Rust escapes (`\n`,
//! `\u{1b}`), so nothing a caller sends can start a line or drive a terminal.

use std::fmt::{self, Write};

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

/// Installs the subscriber: stderr, `KMS_LOG` as the filter (default `info`), escaped fields.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KMS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .fmt_fields(fields())
        .init();
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
