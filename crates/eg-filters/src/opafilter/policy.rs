//! A Rego policy compiled once and evaluated per request.
//!
//! The policy is parsed and analysed when the filter is built; each evaluation works on a
//! clone of that prepared engine (its modules and rule tables are shared, not copied), so
//! requests never parse Rego and never share evaluation state.

use regorus::{Engine, Value};

/// The rule evaluated for each request, as Easegress's query `result = data.http.allow`.
pub const ALLOW_RULE: &str = "data.http.allow";
/// The package that must hold [`ALLOW_RULE`].
const ALLOW_PACKAGE: &str = "data.http";
/// The rule's name inside [`ALLOW_PACKAGE`].
const ALLOW_NAME: &str = "allow";
/// The name the policy text is known by in the engine's messages.
const POLICY_SOURCE: &str = "policy.rego";

/// Easegress's message when the policy gives `data.http.allow` no value.
pub const ERR_NO_RESULT: &str =
    "received no results from rego policy. Are you setting data.http.allow";
/// Easegress's message when `data.http.allow` is not a boolean.
pub const ERR_INVALID_TYPE: &str =
    "got an invalid type from repo policy. Only a boolean or map is valid";

/// A prepared policy.
#[derive(Clone)]
pub struct Policy {
    engine: Engine,
    /// Whether the policy declares `allow` in package `http`; when not, every evaluation
    /// answers [`ERR_NO_RESULT`] without running the engine.
    declares_allow: bool,
}

/// What an evaluation decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `data.http.allow` is `true`.
    Allow,
    /// `data.http.allow` is `false`.
    Deny,
    /// No decision: undefined, not a boolean, or the evaluation failed; the message says
    /// which.
    Error(String),
}

impl Policy {
    /// Parses and prepares `rego` (Rego v0 syntax, as the OPA release Easegress embeds, with
    /// `import future.keywords` and `import rego.v1` honoured). The error is the engine's
    /// message.
    pub fn compile(rego: &str) -> Result<Policy, String> {
        let mut engine = Engine::new();
        engine.set_rego_v0(true);
        // OPA's default: a builtin that fails makes its expression undefined.
        engine.set_strict_builtin_errors(false);
        let package = engine
            .add_policy(POLICY_SOURCE.to_string(), rego.to_string())
            .map_err(|e| e.to_string())?;
        let declares_allow = package == ALLOW_PACKAGE
            && engine
                .has_declared_rule_rooted_at(POLICY_SOURCE, ALLOW_NAME)
                .unwrap_or(false);
        // A trivial query prepares the engine (rule analysis, scheduling, imports) without
        // evaluating any rule, so that clones start ready and analysis errors show now.
        engine.set_input(Value::new_object());
        engine
            .eval_query("true".to_string(), false)
            .map_err(|e| e.to_string())?;
        Ok(Policy {
            engine,
            declares_allow,
        })
    }

    /// Whether the policy declares `allow` in package `http`.
    pub fn declares_allow(&self) -> bool {
        self.declares_allow
    }

    /// Evaluates `data.http.allow` for `input` (the whole `input` document).
    pub fn evaluate(&self, input: Value) -> Decision {
        if !self.declares_allow {
            return Decision::Error(ERR_NO_RESULT.to_string());
        }
        let mut engine = self.engine.clone();
        engine.set_input(input);
        match engine.eval_rule(ALLOW_RULE.to_string()) {
            Ok(Value::Bool(true)) => Decision::Allow,
            Ok(Value::Bool(false)) => Decision::Deny,
            Ok(Value::Undefined) => Decision::Error(ERR_NO_RESULT.to_string()),
            Ok(_) => Decision::Error(ERR_INVALID_TYPE.to_string()),
            Err(e) => Decision::Error(e.to_string()),
        }
    }
}
