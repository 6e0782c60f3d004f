//! The system controllers Easegress lists: `TrafficController`, `RawConfigTrafficController`,
//! `ServiceRegistry` and `StatusSyncController`.
//!
//! In Easegress each is an object of category `SystemController`, one per member, named after
//! its kind, stored at start when the store does not have it yet
//! (`pkg/supervisor/supervisor.go`, `initSystemControllers`/`syncSystemControllerInCluster`),
//! listed by `/object-kinds`, `/object-api-resources` and `/objects`, and changeable with
//! `PUT` but neither creatable nor deletable through the API.
//!
//! In easegress-rs what they do is built into the supervisor (namespaces of traffic objects,
//! mapping user objects into `default`, status writes in cluster mode), so their generations
//! hold nothing: the kinds exist so that the same objects are listed and stored, and so that
//! a spec written for Easegress (`syncInterval` of `ServiceRegistry`) is checked the same way.

use std::any::Any;
use std::sync::Arc;

use eg_spec::{GoDuration, SpecError};
use eg_supervisor::{Category, KindInfo, Object, ObjectKind, Spec, Supervisor};
use serde::Deserialize;
use serde_json::json;

/// `TrafficController` (egctl `trafficcontroller`, `tc`).
pub const TRAFFIC_CONTROLLER: KindInfo = KindInfo {
    kind: "TrafficController",
    category: Category::SystemController,
    name: "trafficcontroller",
    aliases: &["trafficcontroller", "tc"],
    default_spec: eg_supervisor::no_defaults,
    schema: eg_spec::spec_schema::<NoFields>,
};

/// `RawConfigTrafficController` (egctl `rawconfigtrafficcontroller`, `rctc`).
pub const RAW_CONFIG_TRAFFIC_CONTROLLER: KindInfo = KindInfo {
    kind: "RawConfigTrafficController",
    category: Category::SystemController,
    name: "rawconfigtrafficcontroller",
    aliases: &["rawconfigtrafficcontroller", "rctc"],
    default_spec: eg_supervisor::no_defaults,
    schema: eg_spec::spec_schema::<NoFields>,
};

/// `ServiceRegistry` (egctl `serviceregistry`, `sr`); its one field is `syncInterval`
/// (default `10s`).
pub const SERVICE_REGISTRY: KindInfo = KindInfo {
    kind: "ServiceRegistry",
    category: Category::SystemController,
    name: "serviceregistry",
    aliases: &["sr", "serviceregistry"],
    default_spec: || json!({"syncInterval": "10s"}),
    schema: eg_spec::spec_schema::<ServiceRegistrySpec>,
};

/// `StatusSyncController` (egctl `statussynccontroller`, `ssc`).
pub const STATUS_SYNC_CONTROLLER: KindInfo = KindInfo {
    kind: "StatusSyncController",
    category: Category::SystemController,
    name: "statussynccontroller",
    aliases: &["statussynccontroller", "ssc"],
    default_spec: eg_supervisor::no_defaults,
    schema: eg_spec::spec_schema::<NoFields>,
};

/// Every system controller, in Easegress's creation order.
pub const ALL: [&KindInfo; 4] = [
    &TRAFFIC_CONTROLLER,
    &RAW_CONFIG_TRAFFIC_CONTROLLER,
    &SERVICE_REGISTRY,
    &STATUS_SYNC_CONTROLLER,
];

/// A spec without fields.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct NoFields {}

/// The `ServiceRegistry` spec.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ServiceRegistrySpec {
    /// How often registries are polled (Go duration), required.
    #[allow(dead_code)] // checked, not used: registries are not built
    sync_interval: GoDuration,
}

/// One system controller kind.
pub struct SystemControllerKind {
    info: &'static KindInfo,
}

impl SystemControllerKind {
    /// The kind described by `info` (one of [`ALL`]).
    pub fn new(info: &'static KindInfo) -> Self {
        SystemControllerKind { info }
    }

    fn check(&self, spec: &Spec) -> Result<Vec<String>, SpecError> {
        if self.info.kind == SERVICE_REGISTRY.kind {
            let d = eg_spec::decode_kind::<ServiceRegistrySpec>(&spec.doc, "")?;
            Ok(d.warnings())
        } else {
            Ok(eg_spec::decode_kind::<NoFields>(&spec.doc, "")?.warnings())
        }
    }
}

impl ObjectKind for SystemControllerKind {
    fn info(&self) -> &'static KindInfo {
        self.info
    }

    fn validate(&self, spec: &Spec, _sup: &Supervisor) -> Result<Vec<String>, SpecError> {
        self.check(spec)
    }

    fn build(&self, spec: &Spec, _sup: &Supervisor) -> Result<Arc<dyn Object>, SpecError> {
        self.check(spec)?;
        Ok(Arc::new(SystemController))
    }
}

/// A running system controller: its work is done by the supervisor.
struct SystemController;

impl Object for SystemController {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    fn spec(doc: Value) -> Spec {
        Spec::from_doc(doc).unwrap()
    }

    #[test]
    fn service_registry_needs_a_duration() {
        let k = SystemControllerKind::new(&SERVICE_REGISTRY);
        let ok = spec(json!({"name": "ServiceRegistry", "kind": "ServiceRegistry",
            "syncInterval": "5s", "other": 1}));
        assert_eq!(k.check(&ok).unwrap(), ["other: unknown field, ignored"]);
        let bad = spec(json!({"name": "ServiceRegistry", "kind": "ServiceRegistry",
            "syncInterval": "soon"}));
        assert_eq!(k.check(&bad).unwrap_err().path, "syncInterval");
        let missing = spec(json!({"name": "ServiceRegistry", "kind": "ServiceRegistry"}));
        assert!(k.check(&missing).is_err());
    }

    #[test]
    fn the_others_have_no_fields() {
        for info in [
            &TRAFFIC_CONTROLLER,
            &RAW_CONFIG_TRAFFIC_CONTROLLER,
            &STATUS_SYNC_CONTROLLER,
        ] {
            let k = SystemControllerKind::new(info);
            let s = spec(json!({"name": info.kind, "kind": info.kind}));
            assert!(k.check(&s).unwrap().is_empty());
            assert_eq!(info.category, Category::SystemController);
        }
    }
}
