//! Integration tests: sort.
