//! Integration tests: sets.
