//! Integration tests: zsets.
