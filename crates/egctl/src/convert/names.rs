//! Names of the generated Pipelines: the prefix and the letters and digits of the location
//! path, made unique with `-2`, `-3`, … (stable from one run to the next).

use std::collections::HashSet;

/// Name part of a location whose path has no letter or digit (such as `/`).
pub const ROOT_NAME: &str = "root";

/// Hands out unique pipeline names.
#[derive(Debug, Default)]
pub struct Names {
    prefix: String,
    used: HashSet<String>,
}

impl Names {
    /// Names starting with `prefix-`.
    pub fn new(prefix: &str) -> Names {
        Names {
            prefix: prefix.to_string(),
            used: HashSet::new(),
        }
    }

    /// A name not handed out before for a location with `path`.
    pub fn pipeline(&mut self, path: &str) -> String {
        let mut stem: String = path.chars().filter(char::is_ascii_alphanumeric).collect();
        if stem.is_empty() {
            stem = ROOT_NAME.to_string();
        }
        let base = format!("{}-{stem}", self.prefix);
        let mut name = base.clone();
        let mut n = 1;
        while !self.used.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        name
    }
}

/// Name of the HTTPServer of `port`.
pub fn http_server(prefix: &str, port: u16) -> String {
    format!("{prefix}-{port}")
}
