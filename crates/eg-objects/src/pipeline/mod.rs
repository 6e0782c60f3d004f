//! The `Pipeline` kind: a flow of filters with `jumpIf`.

use eg_protocols::Context;

/// A running pipeline generation.
pub struct Pipeline {}

impl Pipeline {
    /// Runs the flow on `ctx` and returns the last filter's result.
    pub async fn handle(&self, ctx: &mut Context) -> &'static str {
        let _ = ctx;
        ""
    }
}
