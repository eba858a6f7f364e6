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

/// Prints `value` as indented JSON.
pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// One line of a table: each cell but the last padded to its column's width, one space between.
fn line(widths: &[usize], cells: &[String]) -> String {
    let last = cells.len().saturating_sub(1);
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i == last {
            text.push_str(cell);
        } else {
            text.push_str(&format!("{cell:<width$} "));
        }
    }
    text
}

/// A table: the header line of `columns` (header, width; the last column's width is not used),
/// then one line per row of cells.
pub fn table(columns: &[(&str, usize)], rows: impl IntoIterator<Item = Vec<String>>) {
    let widths: Vec<usize> = columns.iter().map(|(_, w)| *w).collect();
    let header: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
    println!("{}", line(&widths, &header));
    for row in rows {
        println!("{}", line(&widths, &row));
    }
}

/// Prints `value` as JSON, or the rows of its array `field` as a table of `columns`
/// (header, field), each line without trailing blanks.
pub fn rows(output: Output, value: &Value, field: &str, columns: &[(&str, &str, usize)]) {
    if let Output::Json = output {
        print_json(value);
        return;
    }
    let widths: Vec<usize> = columns.iter().map(|(_, _, w)| *w).collect();
    let print = |cells: Vec<String>| println!("{}", line(&widths, &cells).trim_end());
    print(columns.iter().map(|(h, _, _)| (*h).to_owned()).collect());
    for row in value[field].as_array().into_iter().flatten() {
        print(columns.iter().map(|(_, f, _)| cell(&row[*f])).collect());
    }
}

/// One object as `field: value` lines, or JSON.
pub fn object(output: Output, value: &Value) {
    if let Output::Json = output {
        print_json(value);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_line_pads_every_cell_but_the_last() {
        let cells = ["VERSION", "CALLER", "LAST USED"].map(String::from);
        assert_eq!(
            line(&[8, 24, 0], &cells),
            "VERSION  CALLER                   LAST USED"
        );
        // A cell longer than its column pushes the rest along, one space after it.
        let cells = ["123456789", "x", "y"].map(String::from);
        assert_eq!(line(&[8, 2, 0], &cells), "123456789 x  y");
    }
}
