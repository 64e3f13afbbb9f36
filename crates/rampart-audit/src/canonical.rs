//! RFC 8785 (JCS) canonical JSON, written directly from values without building intermediate
//! maps: object members sorted by their UTF-16 code units, strings with the minimal JSON escapes
//! (serde_json's escaping is exactly JCS's), integers as decimal digits. Non-integer numbers, rare
//! in audit entries, take the ECMAScript number formatting of `serde_json_canonicalizer`.
//!
//! Property tests hold this writer to `serde_json_canonicalizer` on arbitrary JSON, and the
//! integration tests to the RFC's own examples.

use serde_json::{Map, Number, Value};

/// Appends the canonical form of `value` to `out`.
pub fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    // Maps keep insertion order (serde_json's preserve_order): sort by UTF-16 code units, as
    // RFC 8785 orders members (equal to byte order for ASCII keys).
    if members.iter().all(|(k, _)| k.is_ascii()) {
        members.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
    } else {
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    }
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_value(value, out);
    }
    out.push(b'}');
}

fn write_number(n: &Number, out: &mut Vec<u8>) {
    if n.is_i64() || n.is_u64() {
        out.extend_from_slice(n.to_string().as_bytes());
    } else {
        match serde_json_canonicalizer::to_vec(&Value::Number(n.clone())) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            // Non-finite numbers cannot occur in a serde_json Value.
            Err(_) => out.extend_from_slice(b"null"),
        }
    }
}

/// Appends a JSON string literal with JCS escaping.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends `"key":` (keys here are ASCII constants).
pub(crate) fn key(name: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends an optional string (or `null`).
pub(crate) fn opt_str(value: Option<&str>, out: &mut Vec<u8>) {
    match value {
        Some(s) => write_str(s, out),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an optional value (or `null`).
pub(crate) fn opt_value(value: Option<&Value>, out: &mut Vec<u8>) {
    match value {
        Some(v) => write_value(v, out),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\u{0}-\\u{1f}\"\\\\/a-z\\u{7f}-\\u{ff}\\u{e000}-\\u{ffff}\\u{10000}-\\u{10ffff}]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    "[a-zA-Z_\\u{80}-\\u{ff}\\u{e000}-\\u{ffff}\\u{10000}-\\u{10ffff}]{0,6}",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn matches_the_reference_canonicalizer(value in arbitrary_json()) {
            let mut ours = Vec::new();
            super::write_value(&value, &mut ours);
            let reference = serde_json_canonicalizer::to_vec(&value).expect("canonicalizes");
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&reference));
        }
    }
}
