//! Field-level encryption of JSON documents.
//!
//! Selectors name fields by path: `a.b`, `items[*].note`, `rows[0]`, and quoted names for keys
//! with dots or brackets (`meta["x.y"]`). Each selected value (of any JSON type) is serialized as
//! JSON, encrypted by the caller's function, and replaced by
//! `{"__encrypted__": true, "ciphertext": "...", "key": "<key name>"}`. Decryption finds those
//! objects anywhere in a document, so a document can carry fields of several keys.
//!
//! Each field's ciphertext is bound by [`field_aad`] to its key, to its concrete path in the
//! document (`items[2].note`, not the selector) and to an optional caller-chosen document id,
//! so a field moved to another path or copied into another document does not decrypt.

use serde_json::{Map, Value};

/// The marker field of an encrypted value.
pub const ENCRYPTED_MARKER: &str = "__encrypted__";

/// One step of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Field(String),
    /// An array element.
    Index(usize),
    /// Every element of an array.
    Every,
}

/// One step of a concrete field path (where a value is, as opposed to a selector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An object member.
    Field(String),
    /// An array element.
    Index(usize),
}

/// The prefix of every associated data Rampart uses for document fields (all versions).
/// Callers of the raw encrypt/decrypt endpoints may not use associated data starting with it.
pub const FIELD_AAD_PREFIX: &[u8] = b"rampart-document-field-";

/// The associated data of a document field: [`FIELD_AAD_PREFIX`], `v2`, a NUL, then the JSON
/// array `[key, document_id or null, [path steps]]` (field names as strings, indexes as
/// numbers), which is unambiguous whatever the names contain.
pub fn field_aad(key: &str, document_id: Option<&str>, path: &[PathStep]) -> Vec<u8> {
    let steps: Vec<Value> = path
        .iter()
        .map(|step| match step {
            PathStep::Field(name) => Value::String(name.clone()),
            PathStep::Index(index) => Value::from(*index),
        })
        .collect();
    let bound = Value::Array(vec![
        Value::String(key.to_owned()),
        document_id.map_or(Value::Null, |id| Value::String(id.to_owned())),
        Value::Array(steps),
    ]);
    let mut aad = FIELD_AAD_PREFIX.to_vec();
    aad.extend_from_slice(b"v2\0");
    aad.extend_from_slice(bound.to_string().as_bytes());
    aad
}

/// Whether `aad` is in the space reserved for document fields ([`FIELD_AAD_PREFIX`]).
pub fn is_reserved_aad(aad: &[u8]) -> bool {
    aad.starts_with(FIELD_AAD_PREFIX)
}

/// A parsed field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelector {
    steps: Vec<Step>,
}

/// Why a selector was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field selector at byte {at}: {reason}")]
pub struct SelectorError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl FieldSelector {
    /// Parses `a.b`, `a[*].b`, `a[0]`, `a["x.y"]`.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let bytes = text.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        let err = |at, reason| SelectorError { at, reason };
        if text.is_empty() {
            return Err(err(0, "empty selector"));
        }
        if text.len() > 1024 {
            return Err(err(1024, "selector longer than 1024 bytes"));
        }
        let mut expect_name = true;
        while i < bytes.len() {
            match bytes.get(i) {
                Some(b'[') => {
                    let rest = text.get(i..).unwrap_or_default();
                    if let Some(quoted) = rest.strip_prefix("[\"") {
                        let end = quoted.find("\"]").ok_or_else(|| err(i, "unclosed '[\"'"))?;
                        steps.push(Step::Field(
                            quoted.get(..end).unwrap_or_default().to_owned(),
                        ));
                        i += 2 + end + 2;
                    } else {
                        let end = rest.find(']').ok_or_else(|| err(i, "unclosed '['"))?;
                        let inner = rest.get(1..end).unwrap_or_default();
                        if inner == "*" {
                            steps.push(Step::Every);
                        } else if !inner.is_empty()
                            && inner.len() <= 9
                            && inner.bytes().all(|b| b.is_ascii_digit())
                        {
                            steps.push(Step::Index(
                                inner.parse().map_err(|_| err(i + 1, "bad index"))?,
                            ));
                        } else {
                            return Err(err(
                                i + 1,
                                "expected a number, '*' or a quoted name in '[]'",
                            ));
                        }
                        i += end + 1;
                    }
                    expect_name = false;
                }
                Some(b'.') => {
                    if expect_name {
                        return Err(err(i, "empty field name"));
                    }
                    i += 1;
                    expect_name = true;
                    if i == bytes.len() {
                        return Err(err(i, "selector ends with '.'"));
                    }
                }
                Some(_) => {
                    if !expect_name {
                        return Err(err(i, "expected '.' or '[' between steps"));
                    }
                    let end = text
                        .get(i..)
                        .and_then(|rest| rest.find(['.', '[']))
                        .map_or(bytes.len(), |p| i + p);
                    let name = text.get(i..end).unwrap_or_default();
                    if name.contains([']', '"']) {
                        return Err(err(i, "unexpected ']' or '\"' in a field name"));
                    }
                    steps.push(Step::Field(name.to_owned()));
                    i = end;
                    expect_name = false;
                }
                None => break,
            }
        }
        if steps.is_empty() {
            return Err(err(0, "empty selector"));
        }
        Ok(Self { steps })
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// Whether `value` is an encrypted-field object.
pub fn is_encrypted_field(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|o| o.get(ENCRYPTED_MARKER) == Some(&Value::Bool(true)))
}

/// The encrypted-field object for `ciphertext` under `key`.
pub fn encrypted_field(ciphertext: String, key: &str) -> Value {
    let mut object = Map::new();
    object.insert(ENCRYPTED_MARKER.to_owned(), Value::Bool(true));
    object.insert("ciphertext".to_owned(), Value::String(ciphertext));
    object.insert("key".to_owned(), Value::String(key.to_owned()));
    Value::Object(object)
}

/// Applies `encrypt` to the JSON text of every value `selector` reaches, with the value's
/// concrete path (missing fields are skipped; values already encrypted are left alone).
/// Returns how many were encrypted.
pub fn encrypt_selected<E>(
    document: &mut Value,
    selector: &FieldSelector,
    encrypt: &mut impl FnMut(&[PathStep], &[u8]) -> Result<String, E>,
    key: &str,
) -> Result<usize, E> {
    let mut path = Vec::new();
    visit(document, selector.steps(), &mut path, &mut |path, value| {
        if is_encrypted_field(value) {
            return Ok(0);
        }
        let text = zeroize::Zeroizing::new(value.to_string());
        let ciphertext = encrypt(path, text.as_bytes())?;
        *value = encrypted_field(ciphertext, key);
        Ok(1)
    })
}

fn visit<E>(
    value: &mut Value,
    steps: &[Step],
    path: &mut Vec<PathStep>,
    apply: &mut impl FnMut(&[PathStep], &mut Value) -> Result<usize, E>,
) -> Result<usize, E> {
    let Some((step, rest)) = steps.split_first() else {
        return apply(path, value);
    };
    let mut descend = |child: &mut Value, step: PathStep, path: &mut Vec<PathStep>| {
        path.push(step);
        let done = visit(child, rest, path, apply);
        path.pop();
        done
    };
    match (step, value) {
        (Step::Field(name), Value::Object(object)) => match object.get_mut(name) {
            Some(child) => descend(child, PathStep::Field(name.clone()), path),
            None => Ok(0),
        },
        (Step::Index(index), Value::Array(items)) => match items.get_mut(*index) {
            Some(child) => descend(child, PathStep::Index(*index), path),
            None => Ok(0),
        },
        (Step::Every, Value::Array(items)) => {
            let mut done = 0;
            for (index, child) in items.iter_mut().enumerate() {
                done += descend(child, PathStep::Index(index), path)?;
            }
            Ok(done)
        }
        _ => Ok(0),
    }
}

/// An encrypted field found in a document.
pub struct EncryptedField<'a> {
    /// Where it is (`card.number`, `items[2].note`), for messages.
    pub path: String,
    /// Where it is, step by step (what [`field_aad`] binds).
    pub steps: &'a [PathStep],
    /// The ciphertext text.
    pub ciphertext: &'a str,
    /// The key name.
    pub key: &'a str,
}

/// Replaces every encrypted-field object in `document` by what `replace` returns for it.
pub fn replace_encrypted<E>(
    document: &mut Value,
    replace: &mut impl FnMut(EncryptedField<'_>) -> Result<Value, E>,
) -> Result<usize, E> {
    fn walk<E>(
        value: &mut Value,
        path: &mut String,
        steps: &mut Vec<PathStep>,
        replace: &mut impl FnMut(EncryptedField<'_>) -> Result<Value, E>,
    ) -> Result<usize, E> {
        if is_encrypted_field(value) {
            let object = value.as_object();
            let text = |name: &str| {
                object
                    .and_then(|o| o.get(name))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let new = replace(EncryptedField {
                path: path.clone(),
                steps,
                ciphertext: text("ciphertext"),
                key: text("key"),
            })?;
            *value = new;
            return Ok(1);
        }
        let mut done = 0;
        match value {
            Value::Object(object) => {
                for (name, child) in object.iter_mut() {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                    steps.push(PathStep::Field(name.clone()));
                    done += walk(child, path, steps, replace)?;
                    steps.pop();
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    steps.push(PathStep::Index(i));
                    done += walk(child, path, steps, replace)?;
                    steps.pop();
                    path.truncate(len);
                }
            }
            _ => {}
        }
        Ok(done)
    }
    walk(document, &mut String::new(), &mut Vec::new(), replace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_selector_forms() {
        let steps = |s: &str| FieldSelector::parse(s).expect(s).steps().to_vec();
        assert_eq!(
            steps("card.number"),
            vec![Step::Field("card".into()), Step::Field("number".into())]
        );
        assert_eq!(
            steps("items[*].note"),
            vec![
                Step::Field("items".into()),
                Step::Every,
                Step::Field("note".into())
            ]
        );
        assert_eq!(steps("a[0]"), vec![Step::Field("a".into()), Step::Index(0)]);
        assert_eq!(
            steps("meta[\"x.y\"].z"),
            vec![
                Step::Field("meta".into()),
                Step::Field("x.y".into()),
                Step::Field("z".into())
            ]
        );
        assert_eq!(
            steps("a[1][2]"),
            vec![Step::Field("a".into()), Step::Index(1), Step::Index(2)]
        );
        for bad in [
            "", ".a", "a.", "a..b", "a[", "a[x]", "a[]", "a]b", "a[0]b", "a[-1]",
        ] {
            assert!(FieldSelector::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn encrypts_selected_values_of_any_type_and_restores_them() {
        let mut doc = json!({"card": {"number": "4111", "cvv_ok": true}, "items": [{"note": 1}, {"note": {"a": [1]}}, {"x": 2}], "keep": "me"});
        let original = doc.clone();
        let mut n = 0;
        let mut enc = |_: &[PathStep], pt: &[u8]| -> Result<String, ()> {
            n += 1;
            Ok(format!("ct:{}", String::from_utf8_lossy(pt)))
        };
        let mut total = 0;
        for s in ["card.number", "items[*].note", "missing.field", "keep[0]"] {
            total += encrypt_selected(&mut doc, &FieldSelector::parse(s).expect(s), &mut enc, "k")
                .expect("encrypts");
        }
        assert_eq!(total, 3);
        assert!(is_encrypted_field(&doc["card"]["number"]));
        assert_eq!(
            doc["items"][1]["note"]["ciphertext"],
            json!("ct:{\"a\":[1]}")
        );
        assert_eq!(doc["keep"], json!("me"));
        // Encrypting again leaves encrypted fields alone.
        let again = encrypt_selected(
            &mut doc,
            &FieldSelector::parse("card.number").expect("p"),
            &mut enc,
            "k",
        )
        .expect("encrypts");
        assert_eq!(again, 0);
        let mut paths = Vec::new();
        replace_encrypted(
            &mut doc,
            &mut |field: EncryptedField<'_>| -> Result<Value, ()> {
                paths.push(field.path.clone());
                assert!(!field.steps.is_empty());
                assert_eq!(field.key, "k");
                let text = field.ciphertext.strip_prefix("ct:").expect("ours");
                Ok(serde_json::from_str(text).expect("json"))
            },
        )
        .expect("replaces");
        assert_eq!(paths, vec!["card.number", "items[0].note", "items[1].note"]);
        assert_eq!(doc, original);
    }

    #[test]
    fn the_concrete_path_reaches_encrypt_and_decrypt_alike() {
        let mut doc = json!({"items": [{"note": "a"}, {"note": "b"}], "m": {"x.y": 1}});
        let mut seen = Vec::new();
        for s in ["items[*].note", "m[\"x.y\"]"] {
            encrypt_selected(
                &mut doc,
                &FieldSelector::parse(s).expect(s),
                &mut |path: &[PathStep], _: &[u8]| -> Result<String, ()> {
                    seen.push(path.to_vec());
                    Ok(String::from_utf8_lossy(&field_aad("k", None, path)).into_owned())
                },
                "k",
            )
            .expect("encrypts");
        }
        assert_eq!(
            seen[1],
            vec![
                PathStep::Field("items".into()),
                PathStep::Index(1),
                PathStep::Field("note".into())
            ]
        );
        replace_encrypted(
            &mut doc,
            &mut |field: EncryptedField<'_>| -> Result<Value, ()> {
                let aad = field_aad("k", None, field.steps);
                assert_eq!(
                    field.ciphertext.as_bytes(),
                    aad.as_slice(),
                    "{}",
                    field.path
                );
                Ok(Value::Null)
            },
        )
        .expect("walks");
    }

    #[test]
    fn field_aad_separates_keys_paths_and_documents() {
        let path = |names: &[&str]| -> Vec<PathStep> {
            names
                .iter()
                .map(|n| PathStep::Field((*n).to_owned()))
                .collect()
        };
        let a = field_aad("k", None, &path(&["a", "b"]));
        assert!(is_reserved_aad(&a));
        assert_ne!(a, field_aad("k", None, &path(&["a.b"])));
        assert_ne!(a, field_aad("k", None, &path(&["b", "a"])));
        assert_ne!(a, field_aad("k", Some("doc-1"), &path(&["a", "b"])));
        assert_ne!(a, field_aad("k2", None, &path(&["a", "b"])));
        assert_ne!(
            field_aad("k", None, &[PathStep::Index(0)]),
            field_aad("k", None, &path(&["0"]))
        );
        assert!(is_reserved_aad(b"rampart-document-field-v1\0k"));
        assert!(!is_reserved_aad(b"order-42"));
    }
}
