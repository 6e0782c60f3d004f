//! Times one `OPAFilter` decision: the policy of Easegress's reference page, compiled once,
//! then evaluated on a clone of the prepared engine per request, as the filter does.
//!
//! `cargo run -p eg-filters --example opa_eval [iterations]`

use std::time::Instant;

use eg_filters::opafilter::{Decision, Policy};

/// Evaluations timed when no count is given.
const DEFAULT_ITERATIONS: u32 = 20_000;

const POLICY: &str = r#"
package http
default allow = false
allow {
   input.request.method == "POST"
   input.request.scheme == "https"
   contains(input.request.path, "/")
   net.cidr_contains("127.0.0.0/24", input.request.realIP)
}
"#;

const INPUT: &str = r#"{"request": {
  "method": "POST", "path": "/a/b", "path_parts": ["a", "b"], "raw_query": "x=1",
  "query": {"x": ["1"]}, "headers": {"X-Token": "t"}, "scheme": "https",
  "realIP": "127.0.0.9", "body": ""
}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => DEFAULT_ITERATIONS,
    };
    let started = Instant::now();
    let policy = Policy::compile(POLICY)?;
    println!("compile: {:?}", started.elapsed());
    let input = regorus::Value::from_json_str(INPUT)?;
    assert_eq!(policy.evaluate(input.clone()), Decision::Allow);
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(policy.evaluate(input.clone()));
    }
    let per = started.elapsed() / iterations;
    println!("evaluate: {per:?} per decision over {iterations}");
    Ok(())
}
