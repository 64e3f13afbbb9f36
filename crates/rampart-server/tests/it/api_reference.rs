//! docs/API.md, the HTTP API reference, kept in step with the OpenAPI document: every operation
//! the document lists has its `### METHOD /path` heading in the reference, and every such heading
//! names an operation the document lists (no stale routes).

use std::collections::BTreeSet;

/// The methods an operation heading may start with.
const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH"];

/// docs/API.md, read from the repository.
fn reference() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Every `METHOD /path` the OpenAPI document lists.
fn documented_operations() -> BTreeSet<String> {
    let document = rampart_server::openapi::document();
    let mut operations = BTreeSet::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("PUT", &item.put),
            ("POST", &item.post),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ] {
            if operation.is_some() {
                operations.insert(format!("{method} {path}"));
            }
        }
    }
    operations
}

/// The operation a heading line names: `### METHOD /path`, optionally followed by text after
/// whitespace (`### GET /v1/keys — list keys`) or wrapped in backticks (`` ### `GET /v1/keys` ``).
fn heading_operation(line: &str) -> Option<String> {
    let rest = line.strip_prefix("### ")?.trim_start().trim_start_matches('`');
    let (method, rest) = rest.split_once(' ')?;
    if !METHODS.contains(&method) {
        return None;
    }
    let path = rest
        .split(|c: char| c.is_whitespace() || c == '`')
        .next()
        .filter(|p| p.starts_with('/'))?;
    Some(format!("{method} {path}"))
}

/// Every operation heading of the reference, in order (duplicates kept).
fn reference_operations(text: &str) -> Vec<String> {
    text.lines().filter_map(heading_operation).collect()
}

#[test]
fn api_reference_headings_are_parsed() {
    assert_eq!(
        heading_operation("### GET /v1/keys/{name}"),
        Some("GET /v1/keys/{name}".to_owned())
    );
    assert_eq!(
        heading_operation("### `POST /v1/keys` — create"),
        Some("POST /v1/keys".to_owned())
    );
    assert_eq!(heading_operation("## GET /v1/keys"), None);
    assert_eq!(heading_operation("### Keys and encryption"), None);
    assert_eq!(heading_operation("### FETCH /v1/keys"), None);
}

#[test]
fn api_reference_documents_every_openapi_operation() {
    let text = reference();
    let headings: BTreeSet<String> = reference_operations(&text).into_iter().collect();
    let operations = documented_operations();
    assert!(operations.len() >= 40, "{} operations", operations.len());
    let missing: Vec<&String> = operations.difference(&headings).collect();
    assert!(
        missing.is_empty(),
        "docs/API.md has no `### METHOD /path` heading for {} operation(s) of the OpenAPI \
         document:\n{}",
        missing.len(),
        missing
            .iter()
            .map(|m| format!("  {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn api_reference_names_no_operation_the_api_lacks() {
    let text = reference();
    let operations = documented_operations();
    let listed = reference_operations(&text);
    let stale: Vec<&String> = listed.iter().filter(|h| !operations.contains(*h)).collect();
    assert!(
        stale.is_empty(),
        "docs/API.md has headings for operations the OpenAPI document does not list:\n{}",
        stale
            .iter()
            .map(|s| format!("  {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let mut seen = BTreeSet::new();
    let twice: Vec<&String> = listed.iter().filter(|h| !seen.insert(*h)).collect();
    assert!(twice.is_empty(), "headings given twice: {twice:?}");
}

