//! EtcdStore against real etcd processes.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{blocking, percentile};
use eg_cluster::{EtcdStore, EtcdStoreOptions};
use eg_store::{keys, Cond, Op, Store, StoreError, WatchEvent};

const T: Duration = Duration::from_secs(2);

async fn store(c: &common::Cluster, endpoints: &[usize], name: &str) -> Arc<EtcdStore> {
    let mut o = eg_cluster::etcd::ClientOptions::new(
        endpoints
            .iter()
            .map(|&i| c.members[i].client_url.clone())
            .collect(),
    );
    o.request_timeout = T;
    let client = eg_cluster::etcd::Client::new(o).unwrap();
    Arc::new(
        EtcdStore::connect(client, EtcdStoreOptions::new(name))
            .await
            .unwrap(),
    )
}

/// A put that waits out a leader election (the election timeout is 2.5 s in tests).
async fn put_retry(cl: &eg_cluster::etcd::Client, key: String, value: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match cl.put(key.as_bytes(), value, 0).await {
            Ok(r) => return r.header.revision,
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("put {key}: {e}"),
        }
    }
}

async fn apply_latency(s: &Arc<EtcdStore>, label: &str) {
    let mut lat = Vec::new();
    for i in 0..50 {
        let s2 = Arc::clone(s);
        let t = Instant::now();
        blocking(move || {
            s2.apply(
                vec![Op::Put(keys::object(&format!("lat-{i}")), b"{}".to_vec())],
                None,
            )
        })
        .await
        .unwrap();
        lat.push(t.elapsed());
    }
    eprintln!(
        "{label}: apply round trip incl. cache catch-up p50 {:?} p95 {:?} max {:?}",
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.95),
        percentile(&mut lat, 1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_your_writes_conditions_lease_and_lock() {
    let Some(c) = common::Cluster::start("read_your_writes", 1).await else {
        return;
    };
    let s = store(&c, &[0], "m1").await;
    let mut w = s.watch(keys::OBJECTS_PREFIX);
    for i in 0..20 {
        let s2 = Arc::clone(&s);
        let key = keys::object(&format!("o{i}"));
        let k2 = key.clone();
        let rev = blocking(move || {
            s2.apply(
                vec![
                    Op::Put(k2, format!("{i}").into_bytes()),
                    Op::Increment(keys::CONFIG_VERSION.into()),
                ],
                None,
            )
        })
        .await
        .unwrap();
        // Visible right away, from memory.
        assert_eq!(s.get(&key).unwrap(), Some(format!("{i}").into_bytes()));
        assert!(s.revision() >= rev);
        assert_eq!(
            s.get(keys::CONFIG_VERSION).unwrap(),
            Some((i + 1).to_string().into_bytes())
        );
    }
    assert_eq!(s.range(keys::OBJECTS_PREFIX).unwrap().len(), 20);
    for i in 0..20 {
        let ev = w.recv().await.unwrap();
        assert_eq!(ev.key(), keys::object(&format!("o{i}")));
    }

    // Conditions.
    let s2 = Arc::clone(&s);
    let err = blocking(move || {
        s2.apply(
            vec![Op::Put(keys::object("o1"), vec![])],
            Some(&keys::object("o1")),
        )
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref k) if *k == keys::object("o1")),
        "{err}"
    );
    let v = s.get_versioned(&keys::object("o1")).unwrap().unwrap();
    assert!(v.mod_revision > 0);
    let (s2, mr) = (Arc::clone(&s), v.mod_revision);
    blocking(move || {
        s2.apply_if(
            vec![Op::Put(keys::object("o1"), b"new".to_vec())],
            vec![
                Cond::ModRevision(keys::object("o1"), mr),
                Cond::Value(keys::object("o2"), b"2".to_vec()),
                Cond::Absent(keys::object("zz")),
            ],
        )
    })
    .await
    .unwrap();
    let s2 = Arc::clone(&s);
    let err = blocking(move || {
        s2.apply_if(
            vec![Op::Delete(keys::object("o1"))],
            vec![Cond::ModRevision(keys::object("o1"), mr)],
        )
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(s.get(&keys::object("o1")).unwrap(), Some(b"new".to_vec()));

    // Ephemeral puts are bound to the member lease, recorded at /leases/<member>.
    let s2 = Arc::clone(&s);
    blocking(move || {
        s2.apply(
            vec![Op::PutEphemeral(keys::member_status("m1"), b"{}".to_vec())],
            None,
        )
    })
    .await
    .unwrap();
    let kv = s
        .client()
        .get(keys::member_status("m1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kv.lease, s.lease_id());
    assert_eq!(
        s.get(&keys::lease("m1")).unwrap(),
        Some(format!("{:x}", s.lease_id()).into_bytes())
    );
    // A restarted member reuses its lease.
    let again = store(&c, &[0], "m1").await;
    assert_eq!(again.lease_id(), s.lease_id());

    // The cluster write lock excludes a second member until released.
    let other = store(&c, &[0], "m2").await;
    let s2 = Arc::clone(&s);
    let g = blocking(move || s2.write_lock(T)).await.unwrap();
    let o2 = Arc::clone(&other);
    let t = Instant::now();
    assert!(blocking(move || o2.write_lock(Duration::from_millis(500)))
        .await
        .is_err());
    assert!(t.elapsed() < Duration::from_secs(3));
    drop(g);
    let o2 = Arc::clone(&other);
    let g2 = blocking(move || o2.write_lock(T)).await.unwrap();
    drop(g2);
    let s2 = Arc::clone(&s);
    drop(blocking(move || s2.write_lock(T)).await.unwrap());

    apply_latency(&s, "1 node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_concurrent_applies_keep_every_write_and_version() {
    let Some(c) = common::Cluster::start("two_members_concurrent", 3).await else {
        return;
    };
    let a = store(&c, &[0, 1, 2], "m1").await;
    let b = store(&c, &[1, 2, 0], "m2").await;
    let mut versions = a.watch(keys::CONFIG_VERSION);
    apply_latency(&a, "3 nodes").await;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (m, s) in [("a", &a), ("b", &b)] {
        for i in 0..50 {
            let s = Arc::clone(s);
            let key = keys::object(&format!("{m}-{i}"));
            tasks.push(tokio::task::spawn_blocking(move || {
                let r = s.apply(
                    vec![
                        Op::Put(key.clone(), b"{}".to_vec()),
                        Op::Increment(keys::CONFIG_VERSION.into()),
                    ],
                    None,
                );
                (key, r)
            }));
        }
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (key, r) = t.await.unwrap();
        match r {
            Ok(_) => acked.push(key),
            Err(e) => eprintln!("apply of {key} failed: {e}"),
        }
    }
    eprintln!(
        "100 concurrent applies from 2 members took {:?}",
        t.elapsed()
    );
    assert_eq!(acked.len(), 100, "every write acknowledged");
    // Both members' views converge on every acknowledged write and version 100.
    let deadline = Instant::now() + Duration::from_secs(10);
    for s in [&a, &b] {
        loop {
            let all = acked.iter().all(|k| s.get(k).unwrap().is_some());
            if all && s.get(keys::CONFIG_VERSION).unwrap() == Some(b"100".to_vec()) {
                break;
            }
            assert!(Instant::now() < deadline, "member view did not converge");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Every version value appeared exactly once, increasing.
    let mut seen = Vec::new();
    while let Ok(ev) = versions.try_recv() {
        if let WatchEvent::Put { value, .. } = ev {
            seen.push(String::from_utf8(value).unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(seen, (1..=100).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lagging_member_resyncs_after_compaction() {
    let Some(mut c) = common::Cluster::start("lagging_member_resyncs", 3).await else {
        return;
    };
    // This member reaches etcd only through m3.
    let lagging = store(&c, &[2], "m3").await;
    let writer = c.client_of(0, T);
    writer.put(keys::object("keep"), "1", 0).await.unwrap();
    writer.put(keys::object("gone"), "1", 0).await.unwrap();
    let deadline = Instant::now() + T;
    while lagging.get(&keys::object("gone")).unwrap().is_none() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut w = lagging.watch(keys::OBJECTS_PREFIX);
    c.kill(2);
    // While m3 is away: a delete, an update, a create, and history compacted away.
    put_retry(&writer, keys::object("keep"), "2").await;
    writer.delete_prefix(keys::object("gone")).await.unwrap();
    let rev = put_retry(&writer, keys::object("new"), "1").await;
    writer.compact(rev, true).await.unwrap();
    // Reads still answer from the last view.
    assert_eq!(
        lagging.get(&keys::object("gone")).unwrap(),
        Some(b"1".to_vec())
    );
    let t = Instant::now();
    c.restart(2);
    let deadline = Instant::now() + Duration::from_secs(20);
    while lagging.get(&keys::object("new")).unwrap().is_none() {
        assert!(Instant::now() < deadline, "no resync");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "lagging member resynced {:?} after its etcd restarted",
        t.elapsed()
    );
    assert!(lagging.resync_count() >= 1);
    assert_eq!(lagging.get(&keys::object("gone")).unwrap(), None);
    assert_eq!(
        lagging.get(&keys::object("keep")).unwrap(),
        Some(b"2".to_vec())
    );
    let mut evs = Vec::new();
    while let Ok(e) = w.try_recv() {
        evs.push(e);
    }
    assert!(
        evs.iter()
            .any(|e| matches!(e, WatchEvent::Delete { key, .. } if *key == keys::object("gone"))),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, WatchEvent::Put { key, value, .. } if *key == keys::object("keep") && value == b"2")), "{evs:?}");
    assert!(
        evs.iter()
            .any(|e| matches!(e, WatchEvent::Put { key, .. } if *key == keys::object("new"))),
        "{evs:?}"
    );
    // And it follows live changes again.
    writer.put(keys::object("after"), "1", 0).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while lagging.get(&keys::object("after")).unwrap().is_none() {
        assert!(Instant::now() < deadline, "watch not resumed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quorum_reads_answer_and_writes_fail_in_time() {
    let Some(mut c) = common::Cluster::start("without_quorum", 3).await else {
        return;
    };
    let s = store(&c, &[0, 1, 2], "m1").await;
    let s2 = Arc::clone(&s);
    blocking(move || s2.put(&keys::object("a"), b"1".to_vec()))
        .await
        .unwrap();
    c.kill(1);
    c.kill(2);
    assert_eq!(s.get(&keys::object("a")).unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.range(keys::OBJECTS_PREFIX).unwrap().len(), 1);
    let s2 = Arc::clone(&s);
    let t = Instant::now();
    let err = blocking(move || s2.put(&keys::object("b"), b"1".to_vec()))
        .await
        .unwrap_err();
    let took = t.elapsed();
    eprintln!("write without quorum failed after {took:?}: {err}");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("etcd is unreachable"), "{err}");
    assert!(took < T + Duration::from_secs(1), "{took:?}");
    assert_eq!(s.get(&keys::object("a")).unwrap(), Some(b"1".to_vec()));

    let t = Instant::now();
    c.restart(1);
    c.restart(2);
    c.wait_healthy_all(Duration::from_secs(30)).await;
    let mut ok = None;
    for _ in 0..20 {
        let s2 = Arc::clone(&s);
        match blocking(move || s2.put(&keys::object("b"), b"2".to_vec())).await {
            Ok(r) => {
                ok = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    assert!(ok.is_some(), "writes work again after quorum is back");
    eprintln!(
        "writes accepted again {:?} after restarting 2 members",
        t.elapsed()
    );
    assert_eq!(s.get(&keys::object("b")).unwrap(), Some(b"2".to_vec()));
}
