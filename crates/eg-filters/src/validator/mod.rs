//! The `Validator` filter: header, JWT and basic-auth checks.
