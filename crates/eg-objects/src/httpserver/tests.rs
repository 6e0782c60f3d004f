//! End-to-end tests of the HTTPServer kind.
