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

#[test]
fn apply_if_checks_every_condition_atomically() {
    use eg_store::Cond;
    let s = MemStore::new();
    s.put("/a", b"1".to_vec()).unwrap();
    let err = s
        .apply_if(
            vec![Op::Put("/b".into(), b"x".to_vec())],
            vec![
                Cond::Value("/a".into(), b"1".to_vec()),
                Cond::Absent("/a".into()),
            ],
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(k) if k == "/a"));
    assert_eq!(s.get("/b").unwrap(), None);
    s.apply_if(
        vec![Op::Put("/b".into(), b"x".to_vec())],
        vec![
            Cond::Value("/a".into(), b"1".to_vec()),
            Cond::Absent("/b".into()),
        ],
    )
    .unwrap();
    assert_eq!(s.get("/b").unwrap(), Some(b"x".to_vec()));
    assert!(matches!(
        s.apply_if(vec![], vec![Cond::ModRevision("/a".into(), 1)]),
        Err(StoreError::Unsupported(_))
    ));
}

#[test]
fn increment_counts_from_one_and_refuses_non_numbers() {
    let s = MemStore::new();
    for want in ["1", "2", "3"] {
        s.apply(vec![Op::Increment("/config/version".into())], None)
            .unwrap();
        assert_eq!(
            s.get("/config/version").unwrap(),
            Some(want.as_bytes().to_vec())
        );
    }
    s.put("/n", b"abc".to_vec()).unwrap();
    let rev = s.revision();
    assert!(s
        .apply(
            vec![Op::Put("/other".into(), vec![]), Op::Increment("/n".into())],
            None
        )
        .is_err());
    assert_eq!(s.revision(), rev);
    assert_eq!(s.get("/other").unwrap(), None);
}

#[test]
fn ephemeral_put_is_a_plain_put_and_default_lock_serialises() {
    let s = MemStore::new();
    s.apply(
        vec![Op::PutEphemeral(
            "/status/members/m1".into(),
            b"{}".to_vec(),
        )],
        None,
    )
    .unwrap();
    assert_eq!(s.get("/status/members/m1").unwrap(), Some(b"{}".to_vec()));
    let v = s.get_versioned("/status/members/m1").unwrap().unwrap();
    assert_eq!((v.value, v.mod_revision), (b"{}".to_vec(), 0));
    assert_eq!(s.resync_count(), 0);
    let g = s.write_lock(std::time::Duration::from_millis(50)).unwrap();
    assert!(s.write_lock(std::time::Duration::from_millis(20)).is_err());
    drop(g);
}
