//! The `GlobalFilter` kind: before/after pipelines wrapped around every pipeline of a server.
