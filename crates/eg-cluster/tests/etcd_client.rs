//! The etcd client against real etcd processes.

mod common;

use std::time::Duration;

use eg_cluster::etcd::{
    discover_client_urls, Compare, CompareResult, DeleteRangeRequest, Error, EventType, PutRequest,
    RangeRequest, RequestOp, ResponseOp, TxnRequest, WatchCreateRequest,
};

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_txn_lease_lock_round_trips() {
    let Some(c) = common::Cluster::start("kv_txn_lease_lock_round_trips", 1).await else {
        return;
    };
    // A dead endpoint first: the client moves on to the live one.
    let dead = format!("http://127.0.0.1:{}", common::free_ports(1)[0]);
    let mut o = eg_cluster::etcd::ClientOptions::new(vec![dead, c.members[0].client_url.clone()]);
    o.request_timeout = T;
    let cl = eg_cluster::etcd::Client::new(o).unwrap();

    let p = cl.put("/t/a", "1", 0).await.unwrap();
    assert!(p.header.revision > 0);
    cl.put("/t/b", "2", 0).await.unwrap();
    cl.put("/u", "x", 0).await.unwrap();
    let r = cl.get_prefix("/t/").await.unwrap();
    let keys: Vec<_> = r.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(keys, vec![b"/t/a".to_vec(), b"/t/b".to_vec()]);
    let old = cl
        .range(
            &RangeRequest::key("/t/a")
                .at_revision(p.header.revision)
                .serializable(),
        )
        .await
        .unwrap();
    assert_eq!(old.kvs[0].value, b"1");
    assert!(cl.get("/nope").await.unwrap().is_none());

    // Txn: compare on create/mod revision, value and version.
    let a = cl.get("/t/a").await.unwrap().unwrap();
    let ok = cl
        .txn(&TxnRequest {
            compare: vec![
                Compare::mod_revision("/t/a", CompareResult::Equal, a.mod_revision),
                Compare::value("/t/b", CompareResult::Equal, "2"),
                Compare::version("/t/a", CompareResult::Equal, 1),
                Compare::create_revision("/t/c", CompareResult::Equal, 0),
            ],
            success: vec![
                RequestOp::Put(PutRequest::new("/t/c", "3", 0)),
                RequestOp::DeleteRange(DeleteRangeRequest::key("/u")),
            ],
            failure: vec![],
        })
        .await
        .unwrap();
    assert!(ok.succeeded);
    let failed = cl
        .txn(&TxnRequest {
            compare: vec![Compare::create_revision("/t/c", CompareResult::Equal, 0)],
            success: vec![RequestOp::Put(PutRequest::new("/t/c", "4", 0))],
            failure: vec![RequestOp::Range(RangeRequest::key("/t/c"))],
        })
        .await
        .unwrap();
    assert!(!failed.succeeded);
    let ResponseOp::Range(rr) = &failed.responses[0] else {
        panic!("range answer expected")
    };
    assert_eq!(rr.kvs[0].value, b"3");
    assert!(cl.get("/u").await.unwrap().is_none());
    assert_eq!(cl.delete_prefix("/t/").await.unwrap(), 3);

    // Lease: grant, bind, keep alive, time to live, revoke deletes the key.
    let l = cl.lease_grant(60).await.unwrap();
    cl.put("/leased", "v", l.id).await.unwrap();
    assert!(cl.lease_keep_alive_once(l.id).await.unwrap().ttl > 0);
    let ttl = cl.lease_time_to_live(l.id, true).await.unwrap();
    assert!(ttl.ttl > 0 && ttl.granted_ttl == 60);
    assert_eq!(ttl.keys, vec![b"/leased".to_vec()]);
    assert_eq!(cl.get("/leased").await.unwrap().unwrap().lease, l.id);
    cl.lease_revoke(l.id).await.unwrap();
    assert!(cl.get("/leased").await.unwrap().is_none());
    assert_eq!(cl.lease_keep_alive_once(l.id).await.unwrap().ttl, 0);
    assert_eq!(cl.lease_time_to_live(l.id, false).await.unwrap().ttl, -1);
    assert!(matches!(
        cl.put("/x", "v", l.id).await,
        Err(Error::Rejected { .. })
    ));

    // Lock: the key layout of Go's concurrency.Mutex; a second holder waits.
    let l1 = cl.lease_grant(60).await.unwrap().id;
    let l2 = cl.lease_grant(60).await.unwrap().id;
    let held = cl.lock("/config/lock", l1, T).await.unwrap();
    assert_eq!(held.key, format!("/config/lock/{l1:x}").into_bytes());
    let t = std::time::Instant::now();
    let second = cl
        .lock("/config/lock", l2, Duration::from_millis(500))
        .await;
    assert!(matches!(second, Err(Error::Unavailable(_))), "{second:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    // The withdrawn request left no key behind.
    assert_eq!(cl.get_prefix("/config/lock/").await.unwrap().kvs.len(), 1);
    cl.unlock(&held.key).await.unwrap();
    let again = cl.lock("/config/lock", l2, T).await.unwrap();
    cl.unlock(&again.key).await.unwrap();

    // Defragmentation (primaries run it hourly) is accepted, and the data is intact.
    cl.put("/defrag", "kept", 0).await.unwrap();
    cl.defragment(Duration::from_secs(30)).await.unwrap();
    assert_eq!(cl.get("/defrag").await.unwrap().unwrap().value, b"kept");

    // Members, status, discovery from the peer URL.
    let ms = cl.member_list().await.unwrap();
    assert_eq!(ms.members.len(), 1);
    assert_eq!(ms.members[0].name, "m1");
    let st = cl.status().await.unwrap();
    assert_eq!(st.role(), "Leader");
    assert!(st.version.starts_with("3."));
    let urls = discover_client_urls(&[c.members[0].peer_url.clone()], T)
        .await
        .unwrap();
    assert_eq!(urls, vec![c.members[0].client_url.clone()]);
    assert!(discover_client_urls(&[c.members[0].client_url.clone()], T)
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_puts_and_deletes_in_order_and_reports_compaction() {
    let Some(c) = common::Cluster::start("watch_in_order", 1).await else {
        return;
    };
    let cl = c.client(T);
    let start = cl.put("/w/0", "0", 0).await.unwrap().header.revision;
    let mut w = cl
        .watch(&WatchCreateRequest::prefix("/w/", start + 1))
        .await
        .unwrap();
    for i in 1..=5 {
        cl.put(format!("/w/{i}"), i.to_string(), 0).await.unwrap();
    }
    cl.delete_prefix("/w/").await.unwrap();
    cl.put("/other", "x", 0).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 11 {
        let m = tokio::time::timeout(T, w.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        for e in m.events {
            seen.push((
                e.kind,
                String::from_utf8(e.kv.key).unwrap(),
                e.kv.mod_revision,
            ));
        }
    }
    let puts: Vec<_> = seen[..5].iter().map(|s| (s.0, s.1.as_str())).collect();
    assert_eq!(
        puts,
        (1..=5)
            .map(|i| (
                EventType::Put,
                ["/w/1", "/w/2", "/w/3", "/w/4", "/w/5"][i - 1]
            ))
            .collect::<Vec<_>>()
    );
    assert!(seen[5..].iter().all(|s| s.0 == EventType::Delete));
    assert!(
        seen.windows(2).all(|p| p[0].2 <= p[1].2),
        "revision order: {seen:?}"
    );

    // After a compaction, watching from an older revision is reported as such.
    let now = cl.put("/w/x", "y", 0).await.unwrap().header.revision;
    cl.compact(now, true).await.unwrap();
    let mut old = cl
        .watch(&WatchCreateRequest::prefix("/w/", start))
        .await
        .unwrap();
    let mut got = None;
    for _ in 0..3 {
        match tokio::time::timeout(T, old.message()).await.unwrap() {
            Ok(Some(m)) if m.created => continue,
            other => {
                got = Some(other);
                break;
            }
        }
    }
    assert!(
        matches!(got, Some(Err(Error::Compacted { revision })) if revision == now),
        "{got:?}"
    );
    assert!(matches!(
        cl.range(&RangeRequest::prefix("/w/").at_revision(start))
            .await,
        Err(Error::Compacted { .. })
    ));
}
