//! Errors of the documents this crate reads: [`rampart_document`]'s, each naming the field it
//! is about by its path.

pub use rampart_document::{FieldError, Invalid};
