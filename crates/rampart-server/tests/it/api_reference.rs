//! docs/API.md, the HTTP API reference, kept in step with the OpenAPI document: every operation
//! the document lists has its `### METHOD /path` heading in the reference, and every such heading
//! names an operation the document lists (no stale routes); every operation has a `curl` example
//! of its path, and the JSON bodies the examples send use only fields of the operation's request
//! schema.

use std::collections::BTreeSet;

use serde_json::Value;

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
    let rest = line
        .strip_prefix("### ")?
        .trim_start()
        .trim_start_matches('`');
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

/// The reference's operation sections: the operation a heading names, and the text up to the
/// next heading of any level.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if line.starts_with('#') {
            sections.extend(current.take());
            current = heading_operation(line).map(|op| (op, String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    sections.extend(current);
    sections
}

/// Whether a concrete path (`/v1/keys/payments/encrypt`) is an instance of a template
/// (`/v1/keys/{name}/encrypt`).
fn path_matches(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// The paths the section's `curl` examples call: what follows `$RAMPART_ADDR`, up to the
/// query or the closing quote.
fn example_paths(section: &str) -> Vec<&str> {
    section
        .split("$RAMPART_ADDR")
        .skip(1)
        .map(|rest| rest.split(['?', '"', ' ', '\n']).next().unwrap_or_default())
        .collect()
}

/// The bodies the section's `curl` examples send (`-d '…'`).
fn example_bodies(section: &str) -> Vec<&str> {
    section
        .split("-d '")
        .skip(1)
        .filter_map(|rest| rest.split_once('\'').map(|(body, _)| body))
        .collect()
}

/// The property names a schema allows, following `$ref`s and `allOf`/`oneOf`/`anyOf`.
fn schema_properties(document: &Value, schema: &Value, names: &mut BTreeSet<String>, depth: u8) {
    if depth > 8 {
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        if let Some(target) = document.pointer(&format!("/components/schemas/{name}")) {
            schema_properties(document, target, names, depth + 1);
        }
        return;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        names.extend(properties.keys().cloned());
    }
    for combinator in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            schema_properties(document, part, names, depth + 1);
        }
    }
}

#[test]
fn api_reference_gives_every_operation_an_example_of_its_path() {
    let text = reference();
    let mut without = Vec::new();
    for (operation, section) in sections(&text) {
        let template = operation.split_once(' ').map_or("", |(_, path)| path);
        if !example_paths(&section)
            .iter()
            .any(|path| path_matches(template, path))
        {
            without.push(operation);
        }
    }
    assert!(
        without.is_empty(),
        "operations without a `curl … \"$RAMPART_ADDR<path>\"` example of their own path:\n  {}",
        without.join("\n  ")
    );
}

#[test]
fn api_reference_example_bodies_use_the_request_schemas_fields() {
    let document = serde_json::to_value(rampart_server::openapi::document()).expect("document");
    let text = reference();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (operation, section) in sections(&text) {
        let Some((method, path)) = operation.split_once(' ') else {
            continue;
        };
        let Some(op) = document
            .get("paths")
            .and_then(|paths| paths.get(path))
            .and_then(|item| item.get(method.to_lowercase()))
        else {
            continue; // a stale heading: the other test names it
        };
        let schema = op.pointer("/requestBody/content/application~1json/schema");
        for body in example_bodies(&section) {
            let Some(schema) = schema else {
                wrong.push(format!(
                    "{operation}: the example sends a body, the operation takes none"
                ));
                continue;
            };
            let sent: Value = match serde_json::from_str(body) {
                Ok(sent) => sent,
                Err(e) => {
                    wrong.push(format!("{operation}: the example body is not JSON ({e})"));
                    continue;
                }
            };
            let mut allowed = BTreeSet::new();
            schema_properties(&document, schema, &mut allowed, 0);
            let Some(object) = sent.as_object() else {
                continue;
            };
            if allowed.is_empty() {
                continue; // a free-form body
            }
            checked += 1;
            let unknown: Vec<&String> = object.keys().filter(|k| !allowed.contains(*k)).collect();
            if !unknown.is_empty() {
                wrong.push(format!(
                    "{operation}: the example sends {unknown:?}, the request schema has {allowed:?}"
                ));
            }
        }
    }
    assert!(checked >= 40, "only {checked} example bodies checked");
    assert!(
        wrong.is_empty(),
        "example bodies that do not fit the OpenAPI document:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn api_reference_paths_match_templates() {
    assert!(path_matches(
        "/v1/keys/{name}/encrypt",
        "/v1/keys/payments/encrypt"
    ));
    assert!(!path_matches(
        "/v1/keys/{name}/encrypt",
        "/v1/keys/payments/decrypt"
    ));
    assert!(!path_matches("/v1/keys/{name}", "/v1/keys"));
    assert_eq!(
        example_paths("curl -s \"$RAMPART_ADDR/v1/alerts?status=open\"\n"),
        vec!["/v1/alerts"]
    );
    assert_eq!(
        example_bodies("curl -d '{\"a\": 1}' \"$RAMPART_ADDR/v1/x\""),
        vec!["{\"a\": 1}"]
    );
}
