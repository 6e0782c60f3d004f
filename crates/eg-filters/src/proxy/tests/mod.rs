//! Tests of the Proxy filter.
