//! A writer of pprof's `Profile` message (`profile.proto` of github.com/google/pprof),
//! the format `go tool pprof` and `pprof` read: just the fields these profiles use.

use std::collections::HashMap;

/// One function at one source line; a location holds several when calls were inlined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Line {
    /// Demangled name without the hash suffix.
    pub name: String,
    /// Source file, empty when unknown.
    pub file: String,
    /// Source line, 0 when unknown.
    pub line: i64,
}

/// Builds one profile: string, function and location tables shared by all samples.
#[derive(Default)]
pub(crate) struct Builder {
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    /// Encoded `Function` messages.
    functions: Vec<Vec<u8>>,
    function_ids: HashMap<(i64, i64), u64>,
    /// Encoded `Location` messages.
    locations: Vec<Vec<u8>>,
    location_ids: HashMap<Vec<Line>, u64>,
    /// Encoded `Sample` messages.
    samples: Vec<Vec<u8>>,
    sample_types: Vec<(i64, i64)>,
    period_type: (i64, i64),
    period: i64,
    time_nanos: i64,
    duration_nanos: i64,
}

impl Builder {
    /// A profile whose samples carry one value per `(type, unit)` of `sample_types`.
    pub fn new(sample_types: &[(&str, &str)], period_type: (&str, &str), period: i64) -> Self {
        let mut b = Builder::default();
        b.string(""); // index 0 must be the empty string
        b.sample_types = sample_types
            .iter()
            .map(|(t, u)| (b.string(t), b.string(u)))
            .collect();
        b.period_type = (b.string(period_type.0), b.string(period_type.1));
        b.period = period;
        b
    }

    /// Start (ns since the Unix epoch) and length of the profiled interval.
    pub fn timing(&mut self, time_nanos: i64, duration_nanos: i64) {
        self.time_nanos = time_nanos;
        self.duration_nanos = duration_nanos;
    }

    fn string(&mut self, s: &str) -> i64 {
        if let Some(id) = self.string_ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    fn function(&mut self, name: &str, file: &str) -> u64 {
        let key = (self.string(name), self.string(file));
        if let Some(id) = self.function_ids.get(&key) {
            return *id;
        }
        let id = self.functions.len() as u64 + 1;
        let mut m = Vec::new();
        uint(&mut m, 1, id);
        uint(&mut m, 2, key.0 as u64);
        uint(&mut m, 3, key.0 as u64);
        uint(&mut m, 4, key.1 as u64);
        self.functions.push(m);
        self.function_ids.insert(key, id);
        id
    }

    /// The id of the location of `lines` (innermost first), added when new.
    pub fn location(&mut self, lines: Vec<Line>) -> u64 {
        if let Some(id) = self.location_ids.get(&lines) {
            return *id;
        }
        let id = self.locations.len() as u64 + 1;
        let mut m = Vec::new();
        uint(&mut m, 1, id);
        for l in &lines {
            let f = self.function(&l.name, &l.file);
            let mut line = Vec::new();
            uint(&mut line, 1, f);
            uint(&mut line, 2, l.line as u64);
            bytes(&mut m, 4, &line);
        }
        self.locations.push(m);
        self.location_ids.insert(lines, id);
        id
    }

    /// Adds a sample: its stack as location ids (leaf first), one value per sample type,
    /// and string labels.
    pub fn sample(&mut self, locations: &[u64], values: &[i64], labels: &[(&str, &str)]) {
        let mut m = Vec::new();
        let mut packed = Vec::new();
        for l in locations {
            varint(&mut packed, *l);
        }
        bytes(&mut m, 1, &packed);
        packed.clear();
        for v in values {
            varint(&mut packed, *v as u64);
        }
        bytes(&mut m, 2, &packed);
        for (k, v) in labels {
            let (k, v) = (self.string(k), self.string(v));
            let mut label = Vec::new();
            uint(&mut label, 1, k as u64);
            uint(&mut label, 2, v as u64);
            bytes(&mut m, 3, &label);
        }
        self.samples.push(m);
    }

    /// The encoded `Profile` message.
    pub fn encode(self) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, u) in &self.sample_types {
            bytes(&mut out, 1, &value_type(*t, *u));
        }
        for s in &self.samples {
            bytes(&mut out, 2, s);
        }
        for l in &self.locations {
            bytes(&mut out, 4, l);
        }
        for f in &self.functions {
            bytes(&mut out, 5, f);
        }
        for s in &self.strings {
            bytes(&mut out, 6, s.as_bytes());
        }
        uint(&mut out, 9, self.time_nanos as u64);
        uint(&mut out, 10, self.duration_nanos as u64);
        bytes(
            &mut out,
            11,
            &value_type(self.period_type.0, self.period_type.1),
        );
        uint(&mut out, 12, self.period as u64);
        out
    }
}

fn value_type(t: i64, u: i64) -> Vec<u8> {
    let mut m = Vec::new();
    uint(&mut m, 1, t as u64);
    uint(&mut m, 2, u as u64);
    m
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint field (wire type 0); zero is the default and is left out.
fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        varint(out, u64::from(field) << 3);
        varint(out, v);
    }
}

/// A length-delimited field (wire type 2).
fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    varint(out, (u64::from(field) << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;

    fn line(name: &str) -> Line {
        Line {
            name: name.into(),
            file: "src/x.rs".into(),
            line: 7,
        }
    }

    #[test]
    fn encoded_profile_decodes_with_stacks_values_and_labels() {
        let mut b = Builder::new(
            &[("samples", "count"), ("cpu", "nanoseconds")],
            ("cpu", "nanoseconds"),
            10,
        );
        let leaf = b.location(vec![line("inlined"), line("leaf")]);
        let root = b.location(vec![line("main")]);
        assert_eq!(b.location(vec![line("main")]), root, "locations are shared");
        b.sample(&[leaf, root], &[3, 30], &[("thread", "eg-worker")]);
        b.sample(&[root], &[1, -10], &[]);
        let p = decode(&b.encode()).unwrap();
        assert_eq!(p.sample_types[1], ("cpu".into(), "nanoseconds".into()));
        assert_eq!((p.period, p.period_type.0.as_str()), (10, "cpu"));
        assert_eq!(p.stack(&p.samples[0]), ["inlined", "leaf", "main"]);
        assert_eq!(p.samples[0].values, [3, 30]);
        assert_eq!(p.samples[1].values, [1, -10]);
        assert_eq!(p.samples[0].labels, [("thread".into(), "eg-worker".into())]);
        assert_eq!(p.total(0), 4);
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(decode(&[0x12, 0x05, 0x01]).is_err());
        assert!(decode(&[0xff]).is_err());
    }
}
