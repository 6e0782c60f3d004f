//! Tests of the builders.
