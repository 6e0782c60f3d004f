//! The circuit breaker of a pool: opening on failures, short circuits, retries inside
//! the breaker, recovery, inheritance across generations and bad policies.

use super::*;

/// A COUNT_BASED breaker over the last 4 calls, judged from 4 calls on at 50%.
fn cb_policy(extra: Value) -> Value {
    let mut p = json!({"name": "cb", "kind": "CircuitBreaker", "slidingWindowType": "COUNT_BASED",
        "failureRateThreshold": 50, "slidingWindowSize": 4, "minimumNumberOfCalls": 4,
        "waitDurationInOpenState": "60s"});
    merge(&mut p, extra);
    p
}

fn resilience(policies: &[Value]) -> Map<String, Value> {
    policies
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

/// A started Proxy over `url` whose pool uses policy `cb` (and `extra` pool fields).
fn guarded(url: &str, res: &Map<String, Value>, extra: Value) -> Proxy {
    let mut pool = json!({"servers": [{"url": url}], "circuitBreakerPolicy": "cb"});
    merge(&mut pool, extra);
    let p = try_build_with(json!({"pools": [pool]}), res, &supervisor()).unwrap();
    p.init(None);
    p
}

/// Runs `n` GETs and returns (status, result) of each.
async fn calls(p: &Proxy, n: usize) -> Vec<(u16, &'static str)> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = ctx("GET", "/", &[]);
        let r = run(p, &mut c).await;
        out.push((response(&c).status.as_u16(), r));
    }
    out
}

fn breaker_state(p: &Proxy) -> Value {
    p.status()["mainPool"]["circuitBreaker"].clone()
}

#[tokio::test]
async fn failures_open_the_breaker_and_open_short_circuits_without_calling() {
    let up = Upstream::start(|_| Reply::text(500, "boom")).await;
    let p = guarded(&up.url(), &resilience(&[cb_policy(json!({}))]), json!({}));
    assert_eq!(breaker_state(&p), "Closed");
    assert_eq!(calls(&p, 4).await, vec![(500, "failureCode"); 4]);
    assert_eq!(up.hits(), 4);
    assert_eq!(breaker_state(&p), "Open");
    assert_eq!(calls(&p, 3).await, vec![(503, "shortCircuited"); 3]);
    assert_eq!(up.hits(), 4);
}

#[tokio::test]
async fn statuses_outside_failure_codes_are_successes() {
    let up = Upstream::start(|_| Reply::text(404, "nope")).await;
    let p = guarded(
        &up.url(),
        &resilience(&[cb_policy(json!({}))]),
        json!({"failureCodes": [500, 503]}),
    );
    assert_eq!(calls(&p, 8).await, vec![(404, ""); 8]);
    assert_eq!(up.hits(), 8);
    assert_eq!(breaker_state(&p), "Closed");
}

#[tokio::test]
async fn below_the_failure_rate_the_breaker_stays_closed() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    // Every fourth call fails: 25% < 50%.
    let up = Upstream::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst).is_multiple_of(4) {
            Reply::text(500, "boom")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let p = guarded(&up.url(), &resilience(&[cb_policy(json!({}))]), json!({}));
    let got = calls(&p, 12).await;
    assert!(got.iter().all(|(s, _)| *s != 503), "{got:?}");
    assert_eq!(up.hits(), 12);
}

#[tokio::test]
async fn network_errors_and_timeouts_are_failures() {
    let addr = closed_addr();
    let p = guarded(
        &format!("http://{addr}"),
        &resilience(&[cb_policy(
            json!({"slidingWindowSize": 2, "minimumNumberOfCalls": 2}),
        )]),
        json!({}),
    );
    assert_eq!(calls(&p, 2).await, vec![(503, "serverError"); 2]);
    assert_eq!(calls(&p, 1).await, vec![(503, "shortCircuited")]);

    let slow = Upstream::start(|_| Reply {
        delay: Some(Duration::from_secs(30)),
        ..Reply::text(200, "late")
    })
    .await;
    let p = guarded(
        &slow.url(),
        &resilience(&[cb_policy(
            json!({"slidingWindowSize": 2, "minimumNumberOfCalls": 2}),
        )]),
        json!({"timeout": "20ms"}),
    );
    assert_eq!(calls(&p, 2).await, vec![(408, "timeout"); 2]);
    assert_eq!(calls(&p, 1).await, vec![(503, "shortCircuited")]);
    assert_eq!(slow.hits(), 2);
}

#[tokio::test]
async fn retries_run_inside_the_breaker() {
    let up = Upstream::start(|_| Reply::text(503, "busy")).await;
    let res = resilience(&[
        cb_policy(json!({"slidingWindowSize": 2, "minimumNumberOfCalls": 2})),
        json!({"name": "r", "kind": "Retry", "maxAttempts": 3, "waitDuration": "1ms"}),
    ]);
    let p = guarded(&up.url(), &res, json!({"retryPolicy": "r"}));
    // Each request is 3 attempts but one outcome for the breaker.
    assert_eq!(calls(&p, 1).await, vec![(503, "failureCode")]);
    assert_eq!(up.hits(), 3);
    assert_eq!(breaker_state(&p), "Closed");
    assert_eq!(calls(&p, 1).await, vec![(503, "failureCode")]);
    assert_eq!(up.hits(), 6);
    assert_eq!(breaker_state(&p), "Open");
    // Open: no attempt at all, retries included.
    assert_eq!(calls(&p, 2).await, vec![(503, "shortCircuited"); 2]);
    assert_eq!(up.hits(), 6);
}

#[tokio::test]
async fn a_retried_success_is_a_success_for_the_breaker() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    // Fails the first attempt of each request, then succeeds.
    let up = Upstream::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            Reply::text(500, "boom")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let res = resilience(&[
        cb_policy(json!({"slidingWindowSize": 2, "minimumNumberOfCalls": 2})),
        json!({"name": "r", "kind": "Retry", "maxAttempts": 2, "waitDuration": "1ms"}),
    ]);
    let p = guarded(&up.url(), &res, json!({"retryPolicy": "r"}));
    assert_eq!(calls(&p, 4).await, vec![(200, ""); 4]);
    assert_eq!(up.hits(), 8);
    assert_eq!(breaker_state(&p), "Closed");
}

#[tokio::test]
async fn half_open_probes_close_the_breaker_when_the_upstream_recovered() {
    let healthy = Arc::new(AtomicUsize::new(0));
    let h2 = healthy.clone();
    let up = Upstream::start(move |_| {
        if h2.load(Ordering::SeqCst) == 0 {
            Reply::text(500, "boom")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let res = resilience(&[cb_policy(json!({
        "slidingWindowSize": 2, "minimumNumberOfCalls": 2,
        "permittedNumberOfCallsInHalfOpenState": 2, "waitDurationInOpenState": "1ms"}))]);
    let p = guarded(&up.url(), &res, json!({}));
    assert_eq!(calls(&p, 2).await, vec![(500, "failureCode"); 2]);
    assert_eq!(breaker_state(&p), "Open");
    healthy.store(1, Ordering::SeqCst);
    // Longer than waitDurationInOpenState: the next calls are half-open probes.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(calls(&p, 1).await, vec![(200, "")]);
    assert_eq!(breaker_state(&p), "HalfOpen");
    assert_eq!(calls(&p, 1).await, vec![(200, "")]);
    assert_eq!(breaker_state(&p), "Closed");
    assert_eq!(up.hits(), 4);
}

#[tokio::test]
async fn failed_probes_open_the_breaker_again() {
    let up = Upstream::start(|_| Reply::text(500, "boom")).await;
    let res = resilience(&[cb_policy(json!({
        "slidingWindowSize": 2, "minimumNumberOfCalls": 2,
        "permittedNumberOfCallsInHalfOpenState": 1, "waitDurationInOpenState": "1ms"}))]);
    let p = guarded(&up.url(), &res, json!({}));
    calls(&p, 2).await;
    assert_eq!(breaker_state(&p), "Open");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(calls(&p, 1).await, vec![(500, "failureCode")]);
    assert_eq!(breaker_state(&p), "Open");
    assert_eq!(up.hits(), 3);
}

#[tokio::test]
async fn the_next_generation_inherits_the_breaker_while_the_policy_is_unchanged() {
    let up = Upstream::start(|_| Reply::text(500, "boom")).await;
    let res = resilience(&[cb_policy(json!({}))]);
    let gen1 = guarded(&up.url(), &res, json!({}));
    calls(&gen1, 4).await;
    assert_eq!(breaker_state(&gen1), "Open");

    // Same policy (and another pool field changed): still open.
    let gen2 = try_build_with(
        json!({"pools": [{"servers": [{"url": up.url()}], "circuitBreakerPolicy": "cb",
                          "timeout": "5s"}]}),
        &res,
        &supervisor(),
    )
    .unwrap();
    gen2.init(Some(&gen1));
    assert_eq!(breaker_state(&gen2), "Open");
    assert_eq!(calls(&gen2, 1).await, vec![(503, "shortCircuited")]);
    assert_eq!(up.hits(), 4);

    // A changed policy starts closed.
    let changed = resilience(&[cb_policy(json!({"failureRateThreshold": 60}))]);
    let gen3 = try_build_with(
        json!({"pools": [{"servers": [{"url": up.url()}], "circuitBreakerPolicy": "cb"}]}),
        &changed,
        &supervisor(),
    )
    .unwrap();
    gen3.init(Some(&gen2));
    assert_eq!(breaker_state(&gen3), "Closed");
    assert_eq!(calls(&gen3, 1).await, vec![(500, "failureCode")]);
    assert_eq!(up.hits(), 5);
}

#[tokio::test]
async fn short_circuit_keeps_an_existing_response_and_sets_503() {
    let up = Upstream::start(|_| Reply::text(500, "boom")).await;
    let res = resilience(&[cb_policy(
        json!({"slidingWindowSize": 1, "minimumNumberOfCalls": 1}),
    )]);
    let p = guarded(&up.url(), &res, json!({}));
    calls(&p, 1).await;
    let mut c = ctx("GET", "/", &[]);
    let mut existing = HttpResponse::new(StatusCode::OK);
    existing
        .headers
        .insert("access-control-allow-origin", "*".parse().unwrap());
    c.set_response(existing);
    assert_eq!(run(&p, &mut c).await, "shortCircuited");
    assert_eq!(response(&c).status, 503);
    assert_eq!(response(&c).headers["access-control-allow-origin"], "*");
}

fn policy_err(policy: Value) -> SpecError {
    let res = resilience(&[policy]);
    let pool = json!({"servers": [{"url": "http://127.0.0.1:9"}], "circuitBreakerPolicy": "cb"});
    match try_build_with(json!({"pools": [pool]}), &res, &supervisor()) {
        Ok(_) => panic!("policy accepted"),
        Err(e) => e,
    }
}

/// Every field is accepted by the pipeline's decoding (see `crate::resilience`); a pool
/// takes the policy with its defaults.
#[test]
fn a_policy_with_defaults_is_accepted() {
    let res = resilience(&[json!({"name": "cb", "kind": "CircuitBreaker"})]);
    let pool = json!({"servers": [{"url": "http://127.0.0.1:9"}], "circuitBreakerPolicy": "cb"});
    assert!(try_build_with(json!({"pools": [pool]}), &res, &supervisor()).is_ok());
}

/// Policy fields are checked where the pipeline decodes them (`resilience[i]`, see
/// `crate::resilience`); the pool names its own field when the policy is missing.
#[test]
fn bad_policies_name_the_policy_field_and_missing_ones_the_pool_field() {
    let e = policy_err(json!({"name": "cb", "kind": "CircuitBreaker", "failureRateThreshold": 0}));
    assert_eq!(e.path, "resilience[0].failureRateThreshold", "{e}");
    let e = policy_err(json!({"name": "other", "kind": "CircuitBreaker"}));
    assert_eq!(e.path, "filters[0].pools[0].circuitBreakerPolicy");
    assert!(e.message.contains("not found"), "{e}");
}

#[test]
fn retry_back_off_policy_is_accepted_in_any_case() {
    let pool = json!({"servers": [{"url": "http://127.0.0.1:9"}], "retryPolicy": "r"});
    for ok in [
        "random",
        "RANDOM",
        "exponential",
        "EXPONENTIAL",
        "Exponential",
        "",
    ] {
        let res = resilience(&[json!({"name": "r", "kind": "Retry", "backOffPolicy": ok})]);
        assert!(
            try_build_with(json!({"pools": [pool.clone()]}), &res, &supervisor()).is_ok(),
            "{ok}"
        );
    }
    let res = resilience(&[json!({"name": "r", "kind": "Retry", "backOffPolicy": "linear"})]);
    let e = try_build_with(json!({"pools": [pool]}), &res, &supervisor())
        .err()
        .unwrap();
    assert_eq!(e.path, "resilience[0].backOffPolicy");
}
