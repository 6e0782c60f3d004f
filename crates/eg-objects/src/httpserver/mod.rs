//! The `HTTPServer` kind: listeners, routing rules and the request lifecycle.
