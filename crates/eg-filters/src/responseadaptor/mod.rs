//! The `ResponseAdaptor` filter: change headers and body of a response.
