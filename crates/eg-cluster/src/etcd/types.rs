//! Requests and responses of etcd's v3 JSON gateway.
//!
//! The gateway encodes `bytes` fields as base64 and 64-bit integers as decimal strings, and
//! leaves out every field that holds its default value (`false`, `0`, empty, the first enum
//! value). The types below follow that: they serialise only what is set and accept missing
//! fields.

use serde::{Deserialize, Serialize};

/// Serde helpers for the gateway's encodings.
pub(crate) mod enc {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;

    /// Bytes as base64.
    pub mod b64 {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&STANDARD.encode(v))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            let s: Option<String> = serde::Deserialize::deserialize(d)?;
            match s {
                None => Ok(Vec::new()),
                Some(s) => STANDARD.decode(s.as_bytes()).map_err(de::Error::custom),
            }
        }
    }

    /// A 64-bit integer as a decimal string; a JSON number is accepted too.
    pub mod num {
        use super::*;
        use std::fmt;
        use std::marker::PhantomData;
        use std::str::FromStr;

        pub fn serialize<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(v)
        }

        pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
        where
            T: FromStr + TryFrom<u64> + TryFrom<i64> + Default,
            D: Deserializer<'de>,
        {
            struct V<T>(PhantomData<T>);
            impl<'de, T: FromStr + TryFrom<u64> + TryFrom<i64> + Default> Visitor<'de> for V<T> {
                type Value = T;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an integer or a decimal string")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
                    v.parse()
                        .map_err(|_| E::custom(format!("not an integer: {v:?}")))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
                    T::try_from(v).map_err(|_| E::custom("integer out of range"))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
                    T::try_from(v).map_err(|_| E::custom("integer out of range"))
                }
                fn visit_unit<E: de::Error>(self) -> Result<T, E> {
                    Ok(T::default())
                }
            }
            d.deserialize_any(V(PhantomData))
        }
    }

    pub fn is_zero_i64(v: &i64) -> bool {
        *v == 0
    }
    pub fn is_false(v: &bool) -> bool {
        !*v
    }
    pub fn is_empty(v: &[u8]) -> bool {
        v.is_empty()
    }
}

use enc::{b64, is_empty, is_false, is_zero_i64, num};

/// The end of the range that holds every key starting with `prefix` (etcd's `--prefix`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff (or the prefix was empty): the whole keyspace from `key` on.
    vec![0]
}

/// Header of every response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResponseHeader {
    /// Cluster id.
    #[serde(with = "num")]
    pub cluster_id: u64,
    /// Id of the member that answered.
    #[serde(with = "num")]
    pub member_id: u64,
    /// The store's revision when the request was served.
    #[serde(with = "num")]
    pub revision: i64,
    /// Raft term.
    #[serde(with = "num")]
    pub raft_term: u64,
}

/// A stored key with its metadata.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct KeyValue {
    /// The key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// Revision of the key's creation (0: absent).
    #[serde(with = "num")]
    pub create_revision: i64,
    /// Revision of the key's last change.
    #[serde(with = "num")]
    pub mod_revision: i64,
    /// Number of changes since creation.
    #[serde(with = "num")]
    pub version: i64,
    /// The value.
    #[serde(with = "b64")]
    pub value: Vec<u8>,
    /// The lease the key is bound to (0: none).
    #[serde(with = "num")]
    pub lease: i64,
}

/// `/v3/kv/range`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RangeRequest {
    /// First key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty: only `key`.
    #[serde(with = "b64", skip_serializing_if = "is_empty")]
    pub range_end: Vec<u8>,
    /// At most this many keys (0: no limit).
    #[serde(with = "num", skip_serializing_if = "is_zero_i64")]
    pub limit: i64,
    /// Read at this revision (0: the newest).
    #[serde(with = "num", skip_serializing_if = "is_zero_i64")]
    pub revision: i64,
    /// Answer from the local member without a quorum round (may be stale).
    #[serde(skip_serializing_if = "is_false")]
    pub serializable: bool,
    /// Keys only.
    #[serde(skip_serializing_if = "is_false")]
    pub keys_only: bool,
    /// Count only.
    #[serde(skip_serializing_if = "is_false")]
    pub count_only: bool,
}

impl RangeRequest {
    /// One key.
    pub fn key(key: impl Into<Vec<u8>>) -> RangeRequest {
        RangeRequest {
            key: key.into(),
            ..Default::default()
        }
    }

    /// Every key starting with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> RangeRequest {
        let key = prefix.into();
        RangeRequest {
            range_end: prefix_end(&key),
            key,
            ..Default::default()
        }
    }

    /// Reads at `revision`.
    pub fn at_revision(mut self, revision: i64) -> Self {
        self.revision = revision;
        self
    }

    /// Reads from the member answering, without quorum.
    pub fn serializable(mut self) -> Self {
        self.serializable = true;
        self
    }
}

/// Answer to a range.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RangeResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The keys found, sorted.
    pub kvs: Vec<KeyValue>,
    /// More keys matched than `limit`.
    pub more: bool,
    /// Number of keys matched.
    #[serde(with = "num")]
    pub count: i64,
}

/// `/v3/kv/put`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PutRequest {
    /// Key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// Value.
    #[serde(with = "b64")]
    pub value: Vec<u8>,
    /// Bind the key to this lease (0: none).
    #[serde(with = "num", skip_serializing_if = "is_zero_i64")]
    pub lease: i64,
    /// Return the previous key-value.
    #[serde(skip_serializing_if = "is_false")]
    pub prev_kv: bool,
}

impl PutRequest {
    /// Put `value` at `key`, bound to `lease` when it is not 0.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, lease: i64) -> PutRequest {
        PutRequest {
            key: key.into(),
            value: value.into(),
            lease,
            prev_kv: false,
        }
    }
}

/// Answer to a put.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PutResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The previous key-value, when asked for and present.
    pub prev_kv: Option<KeyValue>,
}

/// `/v3/kv/deleterange`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteRangeRequest {
    /// First key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty: only `key`.
    #[serde(with = "b64", skip_serializing_if = "is_empty")]
    pub range_end: Vec<u8>,
    /// Return the deleted key-values.
    #[serde(skip_serializing_if = "is_false")]
    pub prev_kv: bool,
}

impl DeleteRangeRequest {
    /// One key.
    pub fn key(key: impl Into<Vec<u8>>) -> DeleteRangeRequest {
        DeleteRangeRequest {
            key: key.into(),
            ..Default::default()
        }
    }

    /// Every key starting with `prefix`.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> DeleteRangeRequest {
        let key = prefix.into();
        DeleteRangeRequest {
            range_end: prefix_end(&key),
            key,
            prev_kv: false,
        }
    }
}

/// Answer to a delete.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeleteRangeResponse {
    /// Header.
    pub header: ResponseHeader,
    /// Number of keys deleted.
    #[serde(with = "num")]
    pub deleted: i64,
    /// The deleted key-values, when asked for.
    pub prev_kvs: Vec<KeyValue>,
}

/// How a [`Compare`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompareResult {
    /// `==`
    Equal,
    /// `>`
    Greater,
    /// `<`
    Less,
    /// `!=`
    NotEqual,
}

/// What a [`Compare`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompareTarget {
    /// The key's version (number of changes).
    Version,
    /// Its creation revision (0: absent).
    Create,
    /// Its last modification revision.
    Mod,
    /// Its value.
    Value,
    /// Its lease.
    Lease,
}

/// A condition of a transaction.
#[derive(Debug, Clone)]
pub struct Compare {
    /// Comparison.
    pub result: CompareResult,
    /// Field compared.
    pub target: CompareTarget,
    /// Key.
    pub key: Vec<u8>,
    /// The operand: a revision, version or lease for those targets.
    pub number: i64,
    /// The operand for [`CompareTarget::Value`].
    pub value: Vec<u8>,
}

impl Serialize for Compare {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        use serde::ser::SerializeMap;
        let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("result", &self.result)?;
        m.serialize_entry("target", &self.target)?;
        m.serialize_entry("key", &b64(&self.key))?;
        // Only the operand of the target: the fields are one protobuf `oneof`.
        let field = match self.target {
            CompareTarget::Version => "version",
            CompareTarget::Create => "create_revision",
            CompareTarget::Mod => "mod_revision",
            CompareTarget::Lease => "lease",
            CompareTarget::Value => "value",
        };
        if self.target == CompareTarget::Value {
            m.serialize_entry(field, &b64(&self.value))?;
        } else {
            m.serialize_entry(field, &self.number.to_string())?;
        }
        m.end()
    }
}

impl Compare {
    fn new(
        key: impl Into<Vec<u8>>,
        target: CompareTarget,
        result: CompareResult,
        number: i64,
    ) -> Compare {
        Compare {
            result,
            target,
            key: key.into(),
            number,
            value: Vec::new(),
        }
    }

    /// Compares the key's creation revision (`Equal` to 0: the key is absent).
    pub fn create_revision(key: impl Into<Vec<u8>>, op: CompareResult, rev: i64) -> Compare {
        Compare::new(key, CompareTarget::Create, op, rev)
    }

    /// Compares the key's last modification revision.
    pub fn mod_revision(key: impl Into<Vec<u8>>, op: CompareResult, rev: i64) -> Compare {
        Compare::new(key, CompareTarget::Mod, op, rev)
    }

    /// Compares the key's value.
    pub fn value(key: impl Into<Vec<u8>>, op: CompareResult, value: impl Into<Vec<u8>>) -> Compare {
        Compare {
            value: value.into(),
            ..Compare::new(key, CompareTarget::Value, op, 0)
        }
    }

    /// Compares the key's version (number of changes since creation).
    pub fn version(key: impl Into<Vec<u8>>, op: CompareResult, version: i64) -> Compare {
        Compare::new(key, CompareTarget::Version, op, version)
    }

    /// Compares the key's lease.
    pub fn lease(key: impl Into<Vec<u8>>, op: CompareResult, lease: i64) -> Compare {
        Compare::new(key, CompareTarget::Lease, op, lease)
    }
}

/// One operation of a transaction branch.
#[derive(Debug, Clone, Serialize)]
pub enum RequestOp {
    /// A range.
    #[serde(rename = "request_range")]
    Range(RangeRequest),
    /// A put.
    #[serde(rename = "request_put")]
    Put(PutRequest),
    /// A delete.
    #[serde(rename = "request_delete_range")]
    DeleteRange(DeleteRangeRequest),
}

/// The answer to one [`RequestOp`].
#[derive(Debug, Clone, Deserialize)]
pub enum ResponseOp {
    /// To a range.
    #[serde(rename = "response_range")]
    Range(RangeResponse),
    /// To a put.
    #[serde(rename = "response_put")]
    Put(PutResponse),
    /// To a delete.
    #[serde(rename = "response_delete_range")]
    DeleteRange(DeleteRangeResponse),
}

/// `/v3/kv/txn`: if every compare holds, `success` runs, else `failure`, atomically.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TxnRequest {
    /// Conditions.
    pub compare: Vec<Compare>,
    /// Operations when all conditions hold.
    pub success: Vec<RequestOp>,
    /// Operations otherwise.
    pub failure: Vec<RequestOp>,
}

/// Answer to a transaction.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TxnResponse {
    /// Header; its revision is the transaction's when it wrote.
    pub header: ResponseHeader,
    /// Whether the conditions held.
    pub succeeded: bool,
    /// One answer per operation of the branch that ran.
    pub responses: Vec<ResponseOp>,
}

/// `/v3/watch` create request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchCreateRequest {
    /// First key.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty: only `key`.
    #[serde(with = "b64", skip_serializing_if = "is_empty")]
    pub range_end: Vec<u8>,
    /// Deliver events from this revision on (0: from now).
    #[serde(with = "num", skip_serializing_if = "is_zero_i64")]
    pub start_revision: i64,
    /// Ask for periodic empty responses carrying the current revision.
    #[serde(skip_serializing_if = "is_false")]
    pub progress_notify: bool,
    /// Include the previous key-value in events.
    #[serde(skip_serializing_if = "is_false")]
    pub prev_kv: bool,
}

impl WatchCreateRequest {
    /// Watches every key starting with `prefix`, from `start_revision` (0: from now).
    pub fn prefix(prefix: impl Into<Vec<u8>>, start_revision: i64) -> WatchCreateRequest {
        let key = prefix.into();
        WatchCreateRequest {
            range_end: prefix_end(&key),
            key,
            start_revision,
            progress_notify: true,
            prev_kv: false,
        }
    }
}

/// Kind of a watch event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum EventType {
    /// A put (the gateway leaves the field out for it).
    #[default]
    #[serde(rename = "PUT")]
    Put,
    /// A delete.
    #[serde(rename = "DELETE")]
    Delete,
}

/// A change seen by a watch.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Put or delete.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The key after the change (for a delete: key and `mod_revision` only).
    pub kv: KeyValue,
    /// The key before, when asked for.
    pub prev_kv: Option<KeyValue>,
}

/// One message of a watch stream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WatchResponse {
    /// Header; in a message without events, all changes up to its revision were sent.
    pub header: ResponseHeader,
    /// Watch id.
    #[serde(with = "num")]
    pub watch_id: i64,
    /// First message of a new watch.
    pub created: bool,
    /// The server ended the watch.
    pub canceled: bool,
    /// The watch asked for revisions that were compacted away; set with `canceled`.
    #[serde(with = "num")]
    pub compact_revision: i64,
    /// Why the watch was canceled.
    pub cancel_reason: String,
    /// Changes, in revision order.
    pub events: Vec<Event>,
}

/// `/v3/lease/grant` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LeaseGrantResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease id.
    #[serde(rename = "ID", with = "num")]
    pub id: i64,
    /// Its time to live in seconds.
    #[serde(rename = "TTL", with = "num")]
    pub ttl: i64,
    /// Error text, if the grant failed.
    pub error: String,
}

/// `/v3/lease/keepalive` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LeaseKeepAliveResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease id.
    #[serde(rename = "ID", with = "num")]
    pub id: i64,
    /// New time to live in seconds; 0 when the lease does not exist any more.
    #[serde(rename = "TTL", with = "num")]
    pub ttl: i64,
}

/// `/v3/lease/timetolive` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LeaseTimeToLiveResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The lease id.
    #[serde(rename = "ID", with = "num")]
    pub id: i64,
    /// Remaining seconds; -1 when the lease does not exist.
    #[serde(rename = "TTL", with = "num")]
    pub ttl: i64,
    /// TTL it was granted with.
    #[serde(rename = "grantedTTL", with = "num")]
    pub granted_ttl: i64,
    /// Keys bound to it, when asked for (base64 in the wire format, decoded here).
    #[serde(deserialize_with = "b64_list")]
    pub keys: Vec<Vec<u8>>,
}

fn b64_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
    use base64::Engine;
    let v: Option<Vec<String>> = Deserialize::deserialize(d)?;
    v.unwrap_or_default()
        .into_iter()
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

/// `/v3/lock/lock` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LockResponse {
    /// Header; its revision is when the lock was acquired.
    pub header: ResponseHeader,
    /// The key that holds the lock; give it to unlock.
    #[serde(with = "b64")]
    pub key: Vec<u8>,
}

/// A member of the etcd cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Member {
    /// Member id.
    #[serde(rename = "ID", alias = "id", with = "num")]
    pub id: u64,
    /// Name (empty until the member started).
    pub name: String,
    /// Peer URLs.
    #[serde(rename = "peerURLs")]
    pub peer_urls: Vec<String>,
    /// Client URLs (empty until the member started).
    #[serde(rename = "clientURLs")]
    pub client_urls: Vec<String>,
    /// A learner (non-voting) member.
    #[serde(rename = "isLearner")]
    pub is_learner: bool,
}

/// `/v3/cluster/member/list` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MemberListResponse {
    /// Header.
    pub header: ResponseHeader,
    /// The members.
    pub members: Vec<Member>,
}

/// `/v3/maintenance/status` answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusResponse {
    /// Header; `member_id` is the member that answered.
    pub header: ResponseHeader,
    /// Server version.
    pub version: String,
    /// Database size in bytes.
    #[serde(rename = "dbSize", with = "num")]
    pub db_size: i64,
    /// Id of the current leader (0: none).
    #[serde(with = "num")]
    pub leader: u64,
    /// Raft index.
    #[serde(rename = "raftIndex", with = "num")]
    pub raft_index: u64,
    /// Raft term.
    #[serde(rename = "raftTerm", with = "num")]
    pub raft_term: u64,
    /// Errors the member reports (e.g. an alarm).
    pub errors: Vec<String>,
}

impl StatusResponse {
    /// Easegress's `etcd.state` of the member that answered: `"Leader"` or `"Follower"`.
    pub fn role(&self) -> &'static str {
        if self.leader != 0 && self.leader == self.header.member_id {
            "Leader"
        } else {
            "Follower"
        }
    }
}

/// Error body of the gateway (`{"error","message","code"}`), also found inside streams as
/// `{"error":{"grpc_code","http_code","message"}}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GatewayError {
    pub message: String,
    pub code: i32,
    pub grpc_code: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
        assert_eq!(prefix_end(b""), vec![0]);
    }

    #[test]
    fn wire_format_matches_the_gateway() {
        let t = TxnRequest {
            compare: vec![Compare::create_revision("/k", CompareResult::Equal, 0)],
            success: vec![RequestOp::Put(PutRequest::new("/k", "v", 7))],
            failure: vec![RequestOp::Range(RangeRequest::key("/k"))],
        };
        let j = serde_json::to_value(&t).unwrap();
        assert_eq!(
            j,
            serde_json::json!({
                "compare":[{"result":"EQUAL","target":"CREATE","key":"L2s=","create_revision":"0"}],
                "success":[{"request_put":{"key":"L2s=","value":"dg==","lease":"7"}}],
                "failure":[{"request_range":{"key":"L2s="}}]
            })
        );
        let r: TxnResponse = serde_json::from_str(
            r#"{"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},
            "kvs":[{"key":"L2s=","create_revision":"2","mod_revision":"2","version":"1"}],"count":"1"}}]}"#,
        )
        .unwrap();
        assert!(!r.succeeded);
        let ResponseOp::Range(rr) = &r.responses[0] else {
            panic!("range expected")
        };
        assert_eq!(rr.kvs[0].key, b"/k");
        assert_eq!(rr.kvs[0].value, b"");
        let m: Vec<Member> = serde_json::from_str(
            r#"[{"id":443629905751424238,"peerURLs":["http://127.0.0.1:32380"],"name":"t1","clientURLs":["http://127.0.0.1:32379"]}]"#,
        )
        .unwrap();
        assert_eq!(m[0].id, 443629905751424238);
    }
}
