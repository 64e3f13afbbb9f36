//! The storage suite, run against SQLite and a real PostgreSQL server.

mod suite;
