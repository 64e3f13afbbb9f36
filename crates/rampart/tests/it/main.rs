//! End-to-end tests: the real `rampart` binary, on loopback.
