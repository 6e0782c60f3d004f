//! The `Proxy` filter: server pools, load balancing, health checks.
