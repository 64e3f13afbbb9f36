//! Errors of what this crate validates (rule sets, incident bodies, silences, webhook URLs):
//! each names the field it is about by its path (`rules[2].threshold`), so a bad file or
//! request body says exactly what to fix, all at once and never quoting a value.

use std::fmt;

/// One thing wrong with a document: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the document, e.g. `rules[2].threshold` or `title`.
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

    pub(crate) fn unreadable<E: fmt::Display>(error: serde_path_to_error::Error<E>) -> Self {
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
