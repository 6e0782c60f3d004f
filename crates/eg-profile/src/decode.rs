//! A reader of the pprof `Profile` message, enough to check what a profile holds (sample
//! types, samples, their stacks as function names). Used by tests and tools.

use std::collections::HashMap;

/// A decoded profile.
#[derive(Debug, Default)]
pub struct Profile {
    /// `(type, unit)` of each sample value, e.g. `("cpu", "nanoseconds")`.
    pub sample_types: Vec<(String, String)>,
    /// The samples.
    pub samples: Vec<Sample>,
    /// `(type, unit)` of the sampling period.
    pub period_type: (String, String),
    /// The sampling period.
    pub period: i64,
    /// Function names of each location id, innermost first.
    pub locations: HashMap<u64, Vec<String>>,
}

/// One sample.
#[derive(Debug, Default)]
pub struct Sample {
    /// Location ids, leaf first.
    pub location_ids: Vec<u64>,
    /// One value per sample type.
    pub values: Vec<i64>,
    /// String labels.
    pub labels: Vec<(String, String)>,
}

impl Profile {
    /// The function names of a sample's stack, leaf first (inlined functions included).
    pub fn stack(&self, s: &Sample) -> Vec<String> {
        s.location_ids
            .iter()
            .flat_map(|id| self.locations.get(id).cloned().unwrap_or_default())
            .collect()
    }

    /// The sum of value `index` over all samples.
    pub fn total(&self, index: usize) -> i64 {
        self.samples
            .iter()
            .map(|s| s.values.get(index).copied().unwrap_or(0))
            .sum()
    }
}

/// Decodes a `Profile` message; errors on malformed protobuf or dangling references.
pub fn decode(buf: &[u8]) -> Result<Profile, String> {
    let mut strings = Vec::new();
    let mut sample_types = Vec::new();
    let mut samples = Vec::new();
    let mut locations = Vec::new();
    let mut functions = HashMap::new();
    let mut period_type = (0, 0);
    let mut period = 0;
    for f in Fields::new(buf) {
        let (num, v) = f?;
        match (num, v) {
            (1, Value::Bytes(b)) => sample_types.push(pair(b)?),
            (2, Value::Bytes(b)) => samples.push(b),
            (4, Value::Bytes(b)) => locations.push(b),
            (5, Value::Bytes(b)) => {
                let mut id = 0;
                let mut name = 0;
                for f in Fields::new(b) {
                    match f? {
                        (1, Value::Int(v)) => id = v,
                        (2, Value::Int(v)) => name = v,
                        _ => {}
                    }
                }
                functions.insert(id, name);
            }
            (6, Value::Bytes(b)) => strings.push(String::from_utf8_lossy(b).into_owned()),
            (11, Value::Bytes(b)) => period_type = pair(b)?,
            (12, Value::Int(v)) => period = v as i64,
            _ => {}
        }
    }
    let s = |i: u64| {
        strings
            .get(i as usize)
            .cloned()
            .ok_or_else(|| format!("string {i} out of range"))
    };
    let mut p = Profile {
        period,
        period_type: (s(period_type.0)?, s(period_type.1)?),
        ..Profile::default()
    };
    for (t, u) in sample_types {
        p.sample_types.push((s(t)?, s(u)?));
    }
    for b in locations {
        let mut id = 0;
        let mut names = Vec::new();
        for f in Fields::new(b) {
            match f? {
                (1, Value::Int(v)) => id = v,
                (4, Value::Bytes(line)) => {
                    for f in Fields::new(line) {
                        if let (1, Value::Int(fid)) = f? {
                            let name = functions
                                .get(&fid)
                                .ok_or_else(|| format!("function {fid} missing"))?;
                            names.push(s(*name)?);
                        }
                    }
                }
                _ => {}
            }
        }
        p.locations.insert(id, names);
    }
    for b in samples {
        let mut sample = Sample::default();
        for f in Fields::new(b) {
            match f? {
                (1, Value::Bytes(packed)) => sample.location_ids.extend(varints(packed)?),
                (1, Value::Int(v)) => sample.location_ids.push(v),
                (2, Value::Bytes(packed)) => sample
                    .values
                    .extend(varints(packed)?.into_iter().map(|v| v as i64)),
                (2, Value::Int(v)) => sample.values.push(v as i64),
                (3, Value::Bytes(label)) => {
                    let (k, v) = pair(label)?;
                    sample.labels.push((s(k)?, s(v)?));
                }
                _ => {}
            }
        }
        for id in &sample.location_ids {
            if !p.locations.contains_key(id) {
                return Err(format!("location {id} missing"));
            }
        }
        p.samples.push(sample);
    }
    Ok(p)
}

/// Fields 1 and 2 of a small message as integers.
fn pair(b: &[u8]) -> Result<(u64, u64), String> {
    let mut out = (0, 0);
    for f in Fields::new(b) {
        match f? {
            (1, Value::Int(v)) => out.0 = v,
            (2, Value::Int(v)) => out.1 = v,
            _ => {}
        }
    }
    Ok(out)
}

fn varints(mut b: &[u8]) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        out.push(read_varint(&mut b)?);
    }
    Ok(out)
}

fn read_varint(b: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first().ok_or("truncated varint")?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err("varint too long".into())
}

enum Value<'a> {
    Int(u64),
    Bytes(&'a [u8]),
    Other,
}

struct Fields<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Fields {
            rest,
            failed: false,
        }
    }

    fn field(&mut self) -> Result<(u64, Value<'a>), String> {
        let key = read_varint(&mut self.rest)?;
        let value = match key & 7 {
            0 => Value::Int(read_varint(&mut self.rest)?),
            2 => {
                let len = usize::try_from(read_varint(&mut self.rest)?)
                    .map_err(|_| "length too large")?;
                if len > self.rest.len() {
                    return Err("truncated field".into());
                }
                let (b, rest) = self.rest.split_at(len);
                self.rest = rest;
                Value::Bytes(b)
            }
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                if n > self.rest.len() {
                    return Err("truncated field".into());
                }
                self.rest = &self.rest[n..];
                Value::Other
            }
            w => return Err(format!("unsupported wire type {w}")),
        };
        Ok((key >> 3, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let r = self.field();
        self.failed = r.is_err();
        Some(r)
    }
}
