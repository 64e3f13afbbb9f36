//! Tests of the keys service and the card vault over an in-memory store and journal.
