//! What the admin commands share: the token and address, `--output table|json`, and printing.

use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::args::TokenArgs;
use crate::client::Auth;
use crate::client::{CliError, Client};

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Output {
    /// A table, or `field: value` lines.
    #[default]
    Table,
    /// The server's JSON answer.
    Json,
}

#[derive(Args, Debug)]
pub struct Common {
    /// How to print the answer: a table (or `field: value` lines) for people, or the server's
    /// JSON for scripts.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub token: TokenArgs,
}

pub fn client(c: &Common) -> Result<(Client, String), CliError> {
    Ok((Client::new(&c.token.addr.addr)?, c.token.token()?))
}

pub fn post(c: &Common, path: &str, body: &Value) -> Result<Value, CliError> {
    let (client, token) = client(c)?;
    client.post(path, &Auth::Bearer(&token), body)
}

pub fn get(c: &Common, path: &str) -> Result<Value, CliError> {
    let (client, token) = client(c)?;
    client.get(path, &Auth::Bearer(&token))
}

pub fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Prints `value` as JSON, or the rows of its array `field` as a table of `columns`
/// (header, field).
pub fn rows(output: Output, value: &Value, field: &str, columns: &[(&str, &str, usize)]) {
    if let Output::Json = output {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let line = |cells: Vec<String>| {
        let mut text = String::new();
        for ((_, _, width), cell) in columns.iter().zip(cells) {
            text.push_str(&format!("{cell:<width$} ", width = *width));
        }
        println!("{}", text.trim_end());
    };
    line(columns.iter().map(|(h, _, _)| (*h).to_owned()).collect());
    for row in value[field].as_array().into_iter().flatten() {
        line(columns.iter().map(|(_, f, _)| cell(&row[*f])).collect());
    }
}

/// One object as `field: value` lines, or JSON.
pub fn object(output: Output, value: &Value) {
    if let Output::Json = output {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    if let Some(map) = value.as_object() {
        for (k, v) in map {
            println!("{k:<16} {}", cell(v));
        }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Array(items) => items.iter().map(s).collect::<Vec<_>>().join(","),
        other => s(other),
    }
}
