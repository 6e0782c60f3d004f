//! The `Fallback` filter: overwrite an existing response.
