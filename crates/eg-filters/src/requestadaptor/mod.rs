//! The `RequestAdaptor` filter: change method, host, path, headers and body of a request.
