//! The in-memory store follows the same contract as the embedded one.

use eg_store::{MemStore, Op, Store, StoreError, WatchEvent};

#[test]
fn range_is_sorted_and_bounded_by_prefix() {
    let s = MemStore::new();
    for k in ["/a/2", "/a/1", "/b/1", "/a"] {
        s.put(k, k.as_bytes().to_vec()).unwrap();
    }
    let keys: Vec<String> = s
        .range("/a/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["/a/1", "/a/2"]);
}

#[test]
fn batch_is_atomic_and_watched_in_order() {
    let s = MemStore::new();
    let mut rx = s.watch("/config/");
    let rev = s
        .apply(
            vec![
                Op::Put("/config/objects/x".into(), b"{}".to_vec()),
                Op::Put("/config/version".into(), b"1".to_vec()),
            ],
            None,
        )
        .unwrap();
    assert_eq!(rev, 1);
    assert_eq!(rx.try_recv().unwrap().key(), "/config/objects/x");
    assert_eq!(rx.try_recv().unwrap().key(), "/config/version");
    let err = s
        .apply(
            vec![Op::Delete("/config/version".into())],
            Some("/config/objects/x"),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert!(s.get("/config/version").unwrap().is_some());
    assert!(!matches!(rx.try_recv(), Ok(WatchEvent::Delete { .. })));
}
