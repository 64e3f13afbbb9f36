//! Deserialization errors of JSON bodies and query strings, told without quoting the request.
//!
//! serde's messages quote what the client sent (``invalid type: string "4111…", expected u32``,
//! ``unknown field `<anything>` ``), and serde_path_to_error's path holds the client's map keys.
//! [`describe`] keeps only what the server itself defines: the path through struct fields and
//! list indexes (a map key or field name only when it looks like an identifier), and what was
//! expected. So no error body or log line carries a value from the request.

use serde_path_to_error::{Path, Segment};

use crate::problem::FieldError;

/// What kind of mistake a deserialization error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// A field whose value is not what the field takes.
    Value,
    /// The shape of the request: a required field left out, a field that does not exist, or
    /// one given twice.
    Shape,
}

/// What the request got wrong, by the field's path (`root` for the whole body or query) and a
/// message that names what was expected, never what was sent.
pub fn describe(path: &Path, message: &str, root: &str) -> (Mistake, FieldError) {
    let message = without_position(message);
    let field = field_path(path, root);
    if let Some(rest) = message.strip_prefix("missing field `") {
        return (
            Mistake::Shape,
            error(child(field, root, rest), "is required"),
        );
    }
    if message.starts_with("unknown field `") {
        let expected = match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("is not a field of this request; expected {expected}"),
            None => "is not a field of this request".to_owned(),
        };
        return (Mistake::Shape, error(field, &expected));
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let field = child(field, root, rest);
        return (Mistake::Shape, error(field, "is given more than once"));
    }
    if INTEGER_ERRORS.contains(&message) {
        return (
            Mistake::Value,
            error(field, "must be a whole number within the parameter's range"),
        );
    }
    let typed = [
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
        "unknown variant `",
    ];
    if typed.iter().any(|prefix| message.starts_with(prefix)) {
        // The value comes first and what was expected last: split at the last `, expected `.
        if let Some((_, expected)) = message.rsplit_once(", expected ") {
            return (
                Mistake::Value,
                error(field, &format!("must be {}", plain(expected))),
            );
        }
    }
    (Mistake::Value, error(field, "is not valid"))
}

/// What `ParseIntError` says: the errors of an integer parsed from text (a query parameter).
const INTEGER_ERRORS: &[&str] = &[
    "invalid digit found in string",
    "number too large to fit in target type",
    "number too small to fit in target type",
    "cannot parse integer from empty string",
];

/// The path of the field a `missing field` or `duplicate field` message names (its quoted name,
/// `quoted`), under the path of the object it belongs to.
fn child(parent: String, root: &str, quoted: &str) -> String {
    match quoted.strip_suffix('`').filter(|name| identifier(name)) {
        Some(name) if parent == root => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None => parent,
    }
}

fn error(field: String, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.to_owned(),
    }
}

/// serde_json's message without its ` at line L column C` suffix.
fn without_position(message: &str) -> &str {
    let Some((head, tail)) = message.rsplit_once(" at line ") else {
        return message;
    };
    let mut words = tail.split(' ');
    let position = matches!(
        (words.next(), words.next(), words.next(), words.next()),
        (Some(line), Some("column"), Some(column), None)
            if line.bytes().all(|b| b.is_ascii_digit()) && column.bytes().all(|b| b.is_ascii_digit())
    );
    if position { head } else { message }
}

/// Rust's names for what was expected, in the API's words.
fn plain(expected: &str) -> String {
    const INTEGERS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    ];
    if INTEGERS.contains(&expected) {
        return "a whole number within the field's range".to_owned();
    }
    if expected == "f32" || expected == "f64" {
        return "a number".to_owned();
    }
    if expected.starts_with("struct ") || expected == "a map" {
        return "a JSON object".to_owned();
    }
    if expected == "a sequence" {
        return "a JSON array".to_owned();
    }
    expected.to_owned()
}

/// Whether a client-chosen name may be echoed: a short snake_case identifier, as every field of
/// the API is (a card number or a key never is one).
fn identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && name.len() <= 40
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `events[3].action`, with `?` for a name that is not an identifier.
fn field_path(path: &Path, root: &str) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                if out.is_empty() {
                    out.push_str(root);
                }
                out.push_str(&format!("[{index}]"));
            }
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                push_name(&mut out, if identifier(name) { name } else { "?" });
            }
            Segment::Unknown => push_name(&mut out, "?"),
        }
    }
    if out.is_empty() { root.to_owned() } else { out }
}

fn push_name(out: &mut String, name: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(name);
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: u32,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, u8>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        #[serde(rename = "aes")]
        Aes,
        #[serde(rename = "hmac")]
        Hmac,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        kind: Kind,
    }

    const PAN: &str = "4111111111111111";

    fn json(body: &str) -> (Mistake, FieldError) {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        let error =
            serde_path_to_error::deserialize::<_, Body>(&mut deserializer).expect_err("invalid");
        describe(error.path(), &error.inner().to_string(), "body")
    }

    #[test]
    fn every_json_error_names_the_field_and_never_the_value() {
        let cases = [
            (
                format!(r#"{{"name": "{PAN}", "count": "{PAN}"}}"#),
                Mistake::Value,
                "count",
                "must be a whole number within the field's range",
            ),
            (
                format!(r#"{{"name": "x", "count": {PAN}}}"#),
                Mistake::Value,
                "count",
                "must be a whole number within the field's range",
            ),
            (
                format!(
                    r#"{{"name": "x", "count": 1, "items": [{{"kind": "aes"}}, {{"kind": "{PAN}"}}]}}"#
                ),
                Mistake::Value,
                "items[1].kind",
                "must be `aes` or `hmac`",
            ),
            (
                r#"{"name": "x"}"#.to_owned(),
                Mistake::Shape,
                "count",
                "is required",
            ),
            (
                r#"{"name": "x", "count": 1, "items": [{}]}"#.to_owned(),
                Mistake::Shape,
                "items[0].kind",
                "is required",
            ),
            (
                format!(r#"{{"name": "x", "count": 1, "{PAN}": 1}}"#),
                Mistake::Shape,
                "?",
                "is not a field of this request; expected one of `name`, `count`, `items`, `labels`",
            ),
            (
                r#"{"name": "x", "count": 1, "colour": 1}"#.to_owned(),
                Mistake::Shape,
                "colour",
                "is not a field of this request; expected one of `name`, `count`, `items`, `labels`",
            ),
            (
                format!(r#"{{"name": "x", "count": 1, "labels": {{"{PAN}": "{PAN}"}}}}"#),
                Mistake::Value,
                "labels.?",
                "must be a whole number within the field's range",
            ),
            (
                format!(r#"["{PAN}"]"#),
                Mistake::Value,
                "body",
                "must be a JSON object",
            ),
            (
                r#"{"name": "x", "name": "y", "count": 1}"#.to_owned(),
                Mistake::Shape,
                "name",
                "is given more than once",
            ),
        ];
        for (body, mistake, field, message) in cases {
            let (got, error) = json(&body);
            assert_eq!(
                (got, error.field.as_str(), error.message.as_str()),
                (mistake, field, message),
                "{body}"
            );
            assert!(!error.field.contains(PAN) && !error.message.contains(PAN));
        }
    }

    #[test]
    fn the_position_suffix_goes_and_nothing_else() {
        assert_eq!(without_position("x at line 1 column 20"), "x");
        assert_eq!(
            without_position("x at line one column 2"),
            "x at line one column 2"
        );
        assert_eq!(without_position("x"), "x");
    }
}
