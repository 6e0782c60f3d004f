//! Counts requests in the filter's shared data, tells the client the path and the count in
//! a response header named by the `header` parameter, and refuses requests carrying
//! `X-Block` with a 403 (`wasmResult1`).

use std::collections::HashMap;

use easegress_macros::easegress_object;
use easegress_sdk::*;

#[easegress_object]
struct Tagger {
    header: String,
}

#[easegress_object]
impl Program for Tagger {
    fn new(params: HashMap<String, String>) -> Self {
        let header = params
            .get("header")
            .cloned()
            .unwrap_or_else(|| "X-Tag".to_string());
        Self { header }
    }

    fn run(&self) -> i32 {
        let seen = cluster::add_integer("seen".to_string(), 1);
        let path = request::get_path();
        response::resp_set_header(self.header.clone(), format!("{path} #{seen}"));
        if request::get_header("X-Block".to_string()).is_empty() {
            0
        } else {
            response::set_status_code(403);
            response::resp_set_body(b"blocked by rust".to_vec());
            1
        }
    }
}
