//! What the remote commands print: the server's JSON, pretty, or aligned columns.

use std::io::Write as _;

use serde_json::Value;

use super::Format;
use super::failure::{Failure, code};

fn write_failed(e: std::io::Error) -> Failure {
    Failure::new(code::OTHER, format!("cannot write to standard output: {e}"))
}

/// A closed pipe (`rampart ... | head`) ends the output quietly.
fn quiet_pipe(result: std::io::Result<()>) -> Result<(), Failure> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(write_failed),
    }
}

/// Prints `value` pretty.
pub(crate) fn json(value: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(code::OTHER, e.to_string()))?;
    let mut out = std::io::stdout().lock();
    quiet_pipe(writeln!(out, "{text}").and_then(|()| out.flush()))
}

/// Prints a line.
pub(crate) fn line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    quiet_pipe(writeln!(out, "{text}").and_then(|()| out.flush()))
}

/// Prints `value` as JSON, or `table` of it.
pub(crate) fn show(
    format: Format,
    value: &Value,
    table: impl FnOnce(&Value) -> Result<(), Failure>,
) -> Result<(), Failure> {
    match format {
        Format::Json => json(value),
        Format::Table => table(value),
    }
}

/// `value[key]`, or null when `value` has no such key (or is no object).
pub(crate) fn at<'v>(value: &'v Value, key: &str) -> &'v Value {
    static NULL: Value = Value::Null;
    value.get(key).unwrap_or(&NULL)
}

/// A cell: strings as they are, `-` for null, lists joined with commas, others as JSON.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// `2026-12-05T03:13:21.123Z` as `2026-12-05 03:13:21`; `-` when absent.
pub(crate) fn when(value: &Value) -> String {
    match value.as_str() {
        Some(text) if !text.is_empty() => text.get(..19).unwrap_or(text).replace('T', " "),
        _ => "-".to_owned(),
    }
}

/// `rows` under `header`, each column as wide as its widest cell, the last one unpadded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> Result<(), Failure> {
    let text = render(header, rows);
    let mut out = std::io::stdout().lock();
    quiet_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// The text of [`table`].
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_owned()
    };
    let mut text = line(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    text.push('\n');
    for row in rows {
        text.push_str(&line(row));
        text.push('\n');
    }
    text
}

/// `name: value` lines, the names aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> Result<(), Failure> {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    for (name, value) in pairs {
        text.push_str(&format!("{name:<width$}  {value}\n"));
    }
    quiet_pipe(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_aligned_and_cells_readable() {
        let text = render(
            &["NAME", "TYPE"],
            &[
                vec!["payments".to_owned(), "aes256-gcm".to_owned()],
                vec!["x".to_owned(), cell(&json!(null))],
            ],
        );
        assert_eq!(text, "NAME      TYPE\npayments  aes256-gcm\nx         -\n");
        assert_eq!(cell(&json!(["a", "b"])), "a,b");
        assert_eq!(
            when(&json!("2026-12-05T03:13:21.123Z")),
            "2026-12-05 03:13:21"
        );
    }
}
