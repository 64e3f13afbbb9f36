//! The documents Rampart's domains read from files and request bodies (rate-limit rules,
//! address rules, detection rules, incident bodies, …): read as JSON or YAML with the path of
//! whatever does not fit the document's shape, and refused with errors that each name the field
//! they are about by its path (`rules[2].window_seconds`), so a bad file or request body says
//! exactly what to fix, all at once, never quoting a value.
#![forbid(unsafe_code)]

use std::fmt;

use serde::de::DeserializeOwned;

/// Reads JSON text as the document `T` (nothing may follow it).
pub fn read_json<T: DeserializeOwned>(text: &str) -> Result<T, Invalid> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document =
        serde_path_to_error::deserialize(&mut deserializer).map_err(Invalid::unreadable)?;
    deserializer.end().map_err(|e| Invalid::Unreadable {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(document)
}

/// Reads YAML text (one document) as the document `T`.
pub fn read_yaml<T: DeserializeOwned>(text: &str) -> Result<T, Invalid> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(Invalid::unreadable)
}

/// One thing wrong with a document: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the document, e.g. `rules[2].window_seconds` or `title`.
    pub path: String,
    /// What is wrong with it, never quoting the value.
    pub message: String,
}

impl FieldError {
    /// A field error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a document was refused: it could not be read as the document's shape, or it was read
/// and some fields are wrong (every wrong field is listed, in document order).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not JSON or YAML of the document's shape (unknown field, wrong type); `path` is where
    /// reading stopped (empty at the top level).
    #[error("{}", parse_message(.path, .message))]
    Unreadable {
        /// Where reading stopped.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// Fields with values the rules refuse.
    #[error("{}", join(.0))]
    Fields(Vec<FieldError>),
}

impl Invalid {
    /// The field errors (one for an unreadable document).
    #[must_use]
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Unreadable { path, message } => {
                vec![FieldError::new(path.clone(), message.clone())]
            }
            Self::Fields(errors) => errors.clone(),
        }
    }

    /// A document that does not fit its shape, at the path where reading stopped.
    pub fn unreadable<E: fmt::Display>(error: serde_path_to_error::Error<E>) -> Self {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Self::Unreadable {
            path,
            message: error.into_inner().to_string(),
        }
    }
}

fn parse_message(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
