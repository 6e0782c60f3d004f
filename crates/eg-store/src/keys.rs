//! Easegress's key layout.

/// Prefix of object specs: `/config/objects/<name>` holds the spec as JSON.
pub const OBJECTS_PREFIX: &str = "/config/objects/";
/// The configuration version, bumped with every object change.
pub const CONFIG_VERSION: &str = "/config/version";
/// Prefix of custom data kinds: `/custom-data-kinds/<kind>`.
pub const CUSTOM_DATA_KINDS_PREFIX: &str = "/custom-data-kinds/";
/// Prefix of custom data items: `/custom-data/<kind>/<id>`.
pub const CUSTOM_DATA_PREFIX: &str = "/custom-data/";
/// Prefix of object statuses: `/status/objects/<ns>/<name>/<member>`.
pub const STATUS_OBJECTS_PREFIX: &str = "/status/objects/";
/// Prefix of member statuses: `/status/members/<member>`.
pub const STATUS_MEMBERS_PREFIX: &str = "/status/members/";
/// The cluster name key.
pub const CLUSTER_NAME: &str = "/eg/cluster/name";
/// Prefix of member leases: `/leases/<member>` holds the member's lease id in hex, put
/// under that lease.
pub const LEASES_PREFIX: &str = "/leases/";
/// Written (with the time) by `POST /apis/v2/wasm/code`; every WasmHost filter watches it
/// and reloads its code when it changes.
pub const WASM_CODE_EVENT: &str = "/wasm/code";
/// Prefix of WasmHost shared data: `/wasm/data/<pipeline>/<filter>/<key>`.
pub const WASM_DATA_PREFIX: &str = "/wasm/data/";
/// Name of the cluster-wide write lock; holders' keys are `/config/lock/<lease-hex>`.
pub const CONFIG_LOCK: &str = "/config/lock";

/// Key of the lease record of `member`.
pub fn lease(member: &str) -> String {
    format!("{LEASES_PREFIX}{member}")
}

/// Key of the status of `member`.
pub fn member_status(member: &str) -> String {
    format!("{STATUS_MEMBERS_PREFIX}{member}")
}

/// Key of the object called `name`.
pub fn object(name: &str) -> String {
    format!("{OBJECTS_PREFIX}{name}")
}

/// Prefix of the shared data of WasmHost filter `filter` of pipeline `pipeline`.
pub fn wasm_data(pipeline: &str, filter: &str) -> String {
    format!("{WASM_DATA_PREFIX}{pipeline}/{filter}/")
}

/// Key of custom data kind `kind`.
pub fn custom_data_kind(kind: &str) -> String {
    format!("{CUSTOM_DATA_KINDS_PREFIX}{kind}")
}

/// Prefix of the items of custom data kind `kind`.
pub fn custom_data_items(kind: &str) -> String {
    format!("{CUSTOM_DATA_PREFIX}{kind}/")
}

/// Key of item `id` of custom data kind `kind`.
pub fn custom_data_item(kind: &str, id: &str) -> String {
    format!("{CUSTOM_DATA_PREFIX}{kind}/{id}")
}
