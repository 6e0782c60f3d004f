//! Generations: filters inherit from the same-named same-kind filter of the previous
//! generation, the replaced generation's filters are closed, a bad update keeps the old one.

use eg_supervisor::Object;
use serde_json::json;

use crate::pipeline::Pipeline;
use crate::testkit::{ctx, pipeline, running, spec, step, supervisor};

#[tokio::test]
async fn update_inherits_and_closes_the_previous_generation() {
    let sup = supervisor();
    let doc = |extra: &str| {
        json!({"name": "p", "kind": "Pipeline", "filters": [
            step("keep", ""),
            {"name": "retyped", "kind": "Step"},
            step(extra, ""),
        ]})
    };
    let old = pipeline(&sup, doc("old"));
    let mut c = ctx("/", &[]);
    old.handle(&mut c).await;
    old.handle(&mut c).await;

    let mut d = doc("new");
    d["filters"][1] = json!({"name": "retyped", "kind": "Mock"});
    let new = pipeline(&sup, d);
    assert!(!std::sync::Arc::ptr_eq(&old, &new));
    let s = new.status();
    // `keep` handled 2 requests in the previous generation; the test filter records 2 + 1.
    assert_eq!(s["filters"]["keep"]["inherited"], 3);
    assert_eq!(s["filters"]["new"]["inherited"], 0);
    assert!(s["filters"]["retyped"].is_null(), "Mock reports no status");
    let o = old.status();
    for f in ["keep", "retyped", "old"] {
        assert_eq!(o["filters"][f]["closed"], true, "{f}");
    }
    assert_eq!(s["filters"]["keep"]["closed"], false);
}

#[tokio::test]
async fn a_bad_update_keeps_the_running_generation() {
    let sup = supervisor();
    let good = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [step("a", "")]}),
    );
    sup.apply_spec(spec(
        json!({"name": "p", "kind": "Pipeline", "filters": [{"name": "a", "kind": "Nope"}]}),
    ));
    let still = running::<Pipeline>(&sup, "p");
    assert!(std::sync::Arc::ptr_eq(&good, &still));
    assert_eq!(still.status()["filters"]["a"]["closed"], false);
    let status = sup.status_of(&sup.get("p").unwrap());
    assert!(
        status["buildError"]
            .as_str()
            .unwrap_or("")
            .contains("filters[0].kind"),
        "{status}"
    );
}

#[tokio::test]
async fn delete_closes_the_filters() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [step("a", "")]}),
    );
    sup.remove("p");
    assert_eq!(p.status()["filters"]["a"]["closed"], true);
    assert!(sup.get("p").is_none());
}

#[test]
fn kind_names() {
    use eg_supervisor::ObjectKind;
    let k = crate::pipeline::PipelineKind::new(crate::testkit::filters());
    let info = k.info();
    assert_eq!((info.kind, info.name), ("Pipeline", "pipeline"));
    assert_eq!(info.aliases, ["pipelines", "pl"]);
    assert_eq!(info.category, eg_supervisor::Category::Pipeline);
}
