//! The buffer pool: changes, size bound, TTL, Cache-Control rules, metrics.

use super::*;

fn touch(path: &Path, when: SystemTime) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(when).unwrap();
}

#[tokio::test]
async fn a_changed_file_is_read_again() {
    let site = Site::new();
    let p = site.write("a.txt", "first");
    let f = site.filter(json!({}));
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "first");
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "first");
    assert_eq!(f.status()["bufferPool"]["hits"], 1);
    // Another size.
    std::fs::write(&p, "second!").unwrap();
    assert_eq!(get(f.as_ref(), "/a.txt").await.text(), "second!");
    // Same size, another modification time.
    std::fs::write(&p, "third!!").unwrap();
    touch(&p, SystemTime::now() + Duration::from_secs(5));
    let a = get(f.as_ref(), "/a.txt").await;
    assert_eq!(a.text(), "third!!");
    assert_eq!(a.header("etag").unwrap(), sha1_etag(b"third!!"));
    let status = f.status();
    assert_eq!(status["bufferPool"]["files"], 1, "{status}");
    assert_eq!(status["bufferPool"]["bytes"], 7, "{status}");
}

#[tokio::test]
async fn the_pool_keeps_to_its_size_least_recently_used_out_first() {
    let site = Site::new();
    site.write("a.txt", "aaaa");
    site.write("b.txt", "bbbb");
    site.write("c.txt", "cccc");
    site.write("huge.txt", "h".repeat(20));
    let f = site.filter(json!({"cache": {"bufferPoolSize": 8, "bufferPoolMaxFileSize": 100}}));
    get(f.as_ref(), "/a.txt").await;
    get(f.as_ref(), "/b.txt").await;
    get(f.as_ref(), "/a.txt").await; // a is now the most recently used
    get(f.as_ref(), "/c.txt").await; // evicts b
    let s = f.status();
    assert_eq!(
        (
            s["bufferPool"]["files"].clone(),
            s["bufferPool"]["bytes"].clone()
        ),
        (json!(2), json!(8))
    );
    assert_eq!(s["bufferPool"]["evictions"], 1);
    let hits = s["bufferPool"]["hits"].as_u64().unwrap();
    get(f.as_ref(), "/a.txt").await;
    assert_eq!(f.status()["bufferPool"]["hits"], hits + 1, "a stayed");
    get(f.as_ref(), "/b.txt").await;
    assert_eq!(f.status()["bufferPool"]["hits"], hits + 1, "b was evicted");
    // Larger than the whole pool: served, not kept.
    assert_eq!(get(f.as_ref(), "/huge.txt").await.body.len(), 20);
    assert!(f.status()["bufferPool"]["bytes"].as_u64().unwrap() <= 8);
}

#[test]
fn pool_entries_expire_after_their_ttl() {
    let site = Site::new();
    let p = site.write("a.txt", "a");
    let meta = std::fs::metadata(&p).unwrap();
    let pool = BufferPool::new(100, Duration::ZERO);
    pool.insert(
        &p,
        &meta,
        cache::Cached::new(bytes::Bytes::from_static(b"a")),
    );
    assert!(pool.get(&p, &meta).is_none());
    let pool = BufferPool::new(100, Duration::from_secs(600));
    pool.insert(
        &p,
        &meta,
        cache::Cached::new(bytes::Bytes::from_static(b"a")),
    );
    assert!(pool.get(&p, &meta).is_some());
}

#[tokio::test]
async fn cache_control_follows_the_extension_filters() {
    let site = Site::new();
    site.write("a.css", "css");
    site.write("static/app.js", "js");
    site.write("other.js", "js");
    let root = site.root_str();
    let f = site.filter(json!({"cache": {"cacheFileExtensionFilters": [
        {"extension": ["*.css", "*.html"], "etagMaxAge": 60},
        {"pattern": [format!("{root}/static/*.js")]},
    ]}}));
    let a = get(f.as_ref(), "/a.css").await;
    assert_eq!(a.header("cache-control"), Some("public, max-age=60"));
    let a = get(f.as_ref(), "/static/app.js").await;
    assert_eq!(a.header("cache-control"), Some("public, max-age=3600"));
    assert_eq!(
        get(f.as_ref(), "/other.js").await.header("cache-control"),
        None
    );
}

#[tokio::test]
async fn a_file_that_disappears_after_lookup_is_a_404() {
    let site = Site::new();
    let p = site.write("a.txt", "a");
    let f = site.filter(json!({}));
    let found = resolve::resolve(&FileServer::cfg_of(f.as_ref()), "/a.txt", &[]).unwrap();
    std::fs::remove_file(&p).unwrap();
    let pool = BufferPool::new(100, Duration::from_secs(1));
    let r = serve::serve(
        &FileServer::cfg_of(f.as_ref()),
        &pool,
        &found,
        &Conditions::default(),
    );
    let (resp, result) = refusal(Refusal::Io(r.err().unwrap()));
    assert_eq!((resp.status.as_u16(), result), (404, RESULT_NOT_FOUND));
}

#[tokio::test]
async fn the_pool_counts_in_easegress_prometheus_series() {
    let site = Site::new();
    let p = site.write("a.txt", "aaaa");
    site.write("b.txt", "bbbbbb");
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let spec = filter_spec(
        &KIND,
        json!({"root": site.root_str(), "cache": {"bufferPoolSize": 8}}),
    );
    let f = (KIND.build)(&spec, &BuildContext::new(&sup, &res))
        .unwrap()
        .filter;
    get(f.as_ref(), "/a.txt").await; // miss
    get(f.as_ref(), "/a.txt").await; // hit
    std::fs::write(&p, "changed").unwrap();
    get(f.as_ref(), "/a.txt").await; // changed: evicted, miss
    get(f.as_ref(), "/b.txt").await; // miss, evicts a for room
    let text = sup.metrics().encode();
    for line in [
        "fileserver_buffer_pool_hits_total 1",
        "fileserver_buffer_pool_miss_total 3",
        "fileserver_buffer_pool_evicts_total 2",
        "fileserver_buffer_pool_ttl_evicts_total 0",
        "fileserver_buffer_pool_size 6",
        "fileserver_buffer_pool_files 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}
