//! `/status/objects` and `/status/members`.

use eg_supervisor::{ClusterRole, EtcdMemberStatus, MemberStatus};
use serde_json::{json, Map, Value};

use eg_store::keys;

use crate::api::Api;
use crate::objects::{blocking, stored};
use crate::reply::{ok, ApiError, ApiResult, Reply};

/// `GET /status/objects[/{name}]`: a map keyed `<ns>/<name>/<member>`: this member's live
/// statuses, and those the other members of a cluster wrote under `/status/objects/`.
pub async fn objects(api: &Api, name: Option<&str>) -> ApiResult {
    let mut map: Map<String, Value> = Map::new();
    let me = format!("/{}", api.sup.member().name);
    for (key, bytes) in api.sup.store().range(keys::STATUS_OBJECTS_PREFIX)? {
        let Some(rel) = key.strip_prefix(keys::STATUS_OBJECTS_PREFIX) else {
            continue;
        };
        // `<ns>/<name>/<member>`; this member's own come live below.
        let mut parts = rel.splitn(3, '/');
        let (Some(_ns), Some(obj), Some(_member)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if rel.ends_with(&me) || name.is_some_and(|n| n != obj) {
            continue;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            map.insert(rel.to_string(), v);
        }
    }
    let live = api.sup.statuses(name);
    if let Some(n) = name {
        if live.is_empty() && map.is_empty() && stored(api.sup.store(), n)?.is_none() {
            return Err(ApiError::not_found(format!("object {n} not found")));
        }
    }
    map.extend(live);
    let mut sorted: Vec<(String, Value)> = map.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    ok(Value::Object(sorted.into_iter().collect()))
}

/// A member whose heartbeat is older than this is reported `alive: false`: three missed
/// heartbeats (members write theirs every 5 s).
pub const HEARTBEAT_DEAD_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

/// A member's listing: what it wrote, plus the computed liveness: `heartbeatAge` (e.g.
/// `"3s"`, null when the time cannot be read) and `alive` (heartbeat at most
/// [`HEARTBEAT_DEAD_AFTER`] old).
fn listing(status: &MemberStatus, now: chrono::DateTime<chrono::Utc>) -> Value {
    let age = chrono::DateTime::parse_from_rfc3339(&status.last_heartbeat_time)
        .ok()
        .map(|t| (now - t.with_timezone(&chrono::Utc)).max(chrono::TimeDelta::zero()));
    let mut v = serde_json::to_value(status).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert(
            "alive".into(),
            json!(age.is_some_and(|a| a <= HEARTBEAT_DEAD_AFTER)),
        );
        m.insert(
            "heartbeatAge".into(),
            age.map_or(Value::Null, |a| json!(format!("{}s", a.num_seconds()))),
        );
    }
    v
}

/// `GET /status/members`: every member's last heartbeat (`/status/members/`), sorted by
/// name, with the computed liveness. A standalone server has written none: it reports
/// itself (a cluster member reports only what the cluster holds).
pub async fn members(api: &Api) -> ApiResult {
    let now = chrono::Utc::now();
    let mut list: Vec<MemberStatus> = Vec::new();
    for (key, bytes) in api.sup.store().range(keys::STATUS_MEMBERS_PREFIX)? {
        match serde_json::from_slice::<MemberStatus>(&bytes) {
            Ok(m) => list.push(m),
            Err(e) => tracing::warn!(%key, error = %e, "ignoring an unreadable member status"),
        }
    }
    if list.is_empty() && !api.config.cluster_mode {
        list.push(self_status(api, now));
    }
    list.sort_by(|a, b| a.options.name.cmp(&b.options.name));
    ok(Value::Array(list.iter().map(|m| listing(m, now)).collect()))
}

/// This member's listing when it writes no heartbeat (standalone).
fn self_status(api: &Api, now: chrono::DateTime<chrono::Utc>) -> MemberStatus {
    let m = api.sup.member();
    let state = if m.cluster_role == ClusterRole::Primary {
        "Leader"
    } else {
        "Follower"
    };
    MemberStatus {
        options: m.options.clone(),
        last_heartbeat_time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        last_defrag_time: String::new(),
        etcd: Some(EtcdMemberStatus {
            id: m.name.clone(),
            start_time: api
                .sup
                .started_at()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state: state.to_string(),
        }),
    }
}

/// `DELETE /status/members/{member}`: purges another member (Easegress: its etcd
/// membership and everything under its lease), under the write lock; 404 when the cluster
/// knows no such member.
pub async fn purge_member(api: &Api, member: &str) -> ApiResult {
    if member == api.sup.member().name {
        return Err(ApiError::bad_request(format!(
            "{member} is this member and cannot be purged"
        )));
    }
    let _guard = api.lock_writes().await?;
    let store = api.sup.store().clone();
    let m = member.to_string();
    if !blocking(move || store.purge_member(&m)).await? {
        return Err(ApiError::not_found(format!("member {member} not found")));
    }
    tracing::info!(member, "member purged");
    Ok(Reply::Empty(http::StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_heartbeat_age() {
        let now = chrono::Utc::now();
        let at = |secs| MemberStatus {
            last_heartbeat_time: (now - chrono::TimeDelta::seconds(secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ..MemberStatus::default()
        };
        let v = listing(&at(4), now);
        assert_eq!(
            (v["alive"].clone(), v["heartbeatAge"].clone()),
            (json!(true), json!("4s"))
        );
        assert!(v.get("etcd").is_none(), "a secondary has no etcd entry");
        let v = listing(&at(16), now);
        assert_eq!(v["alive"], json!(false));
        let garbage = MemberStatus {
            last_heartbeat_time: "garbage".into(),
            ..MemberStatus::default()
        };
        let v = listing(&garbage, now);
        assert_eq!(
            (v["alive"].clone(), v["heartbeatAge"].clone()),
            (json!(false), Value::Null)
        );
    }
}
