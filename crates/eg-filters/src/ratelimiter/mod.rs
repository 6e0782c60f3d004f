//! The `RateLimiter` filter: permits per period for URL rules.
