//! A report as people and other tools read it: one self-contained HTML page (on screen and on
//! paper) and a NIST OSCAL 1.1.2 `assessment-results` document.
//!
//! Both are views of a [`Report`](crate::Report): they add nothing the report does not say and
//! are not signed themselves; the signed document is the report's JSON (and the evidence
//! package that carries it).

mod html;
mod oscal;

pub use html::html;
pub use oscal::{OSCAL_VERSION, RAMPART_OSCAL_NS, oscal};

#[cfg(test)]
pub(crate) mod tests;
