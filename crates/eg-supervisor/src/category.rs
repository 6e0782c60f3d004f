//! The four categories of objects, in creation order.

use std::fmt;

/// Category of an object kind. Objects are created in this order (system controllers first,
/// traffic gates last) and closed in reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// One instance per node, built in; cannot be created or deleted through the API.
    SystemController,
    /// Controllers users create and delete (e.g. `GlobalFilter`, `StatusInLocalController`).
    BusinessController,
    /// Filter chains that handle traffic.
    Pipeline,
    /// Listeners that receive traffic and route it to pipelines (e.g. `HTTPServer`).
    TrafficGate,
}

impl Category {
    /// The name used in API answers (`TrafficGate`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::SystemController => "SystemController",
            Category::BusinessController => "BusinessController",
            Category::Pipeline => "Pipeline",
            Category::TrafficGate => "TrafficGate",
        }
    }

    /// Whether objects of this category live in a traffic namespace (their status key is
    /// `eg-traffic-default/<name>/<member>`).
    pub fn is_traffic(self) -> bool {
        matches!(self, Category::Pipeline | Category::TrafficGate)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
