//! Integration tests: hashes.
