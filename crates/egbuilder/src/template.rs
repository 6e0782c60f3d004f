//! The scaffold and build templates: plain files in `templates/`, with `@NAME@` placeholders.

/// The files egbuilder writes, as they are in `templates/`.
pub mod files {
    /// A filter module (`src/filters/<module>.rs`).
    pub const FILTER: &str = include_str!("../templates/plugin/filter.rs");
    /// A controller module (`src/controllers/<module>.rs`).
    pub const CONTROLLER: &str = include_str!("../templates/plugin/controller.rs");
    /// The plugin crate's manifest.
    pub const PLUGIN_MANIFEST: &str = include_str!("../templates/plugin/Cargo.toml");
    /// The plugin crate's `src/lib.rs`.
    pub const PLUGIN_LIB: &str = include_str!("../templates/plugin/lib.rs");
    /// `src/filters/mod.rs`.
    pub const FILTERS_MOD: &str = include_str!("../templates/plugin/filters_mod.rs");
    /// `src/controllers/mod.rs`.
    pub const CONTROLLERS_MOD: &str = include_str!("../templates/plugin/controllers_mod.rs");
    /// `src/registry.rs`, with `register`.
    pub const REGISTRY: &str = include_str!("../templates/plugin/registry.rs");
    /// The plugin crate's `build.yaml`.
    pub const BUILD_YAML: &str = include_str!("../templates/plugin/build.yaml");
    /// The plugin crate's `.gitignore`.
    pub const GITIGNORE: &str = include_str!("../templates/plugin/gitignore");
    /// The server workspace's manifest.
    pub const SERVER_MANIFEST: &str = include_str!("../templates/server/Cargo.toml");
    /// The server's `main.rs`.
    pub const SERVER_MAIN: &str = include_str!("../templates/server/main.rs");
}

/// `template` with each `@KEY@` replaced by its value.
///
/// Every placeholder of a template must be given: a test renders each template and checks
/// that none is left.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("@{key}@"), value);
    }
    out
}

/// The placeholders left in `text` (`@` + upper-case letters and `_` + `@`).
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in text.match_indices('@') {
        let rest = &text[i + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with('@') {
            found.push(rest[..len].to_string());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_placeholder() {
        assert_eq!(
            render("a @X@ b @Y_Z@ @X@", &[("X", "1"), ("Y_Z", "2")]),
            "a 1 b 2 1"
        );
        assert_eq!(placeholders("x @KIND@ y @a@ mail@host.org"), vec!["KIND"]);
    }
}
