use super::*;

fn lit(s: &str) -> Part {
    Part::Lit(s.to_string())
}

#[test]
fn parses_the_three_forms() {
    assert_eq!(parse("plain", &[]), vec![lit("plain")]);
    assert_eq!(
        parse("$scheme://$host$uri", &[]),
        vec![
            Part::Var(Var::Scheme, None),
            lit("://"),
            Part::Var(Var::Host, None),
            Part::Var(Var::Uri, None),
        ]
    );
    assert_eq!(
        parse("${host}-backend", &[]),
        vec![Part::Var(Var::Host, None), lit("-backend")]
    );
    assert_eq!(
        parse("u=${remote_user:anonymous}", &[]),
        vec![
            lit("u="),
            Part::Var(Var::RemoteUser, Some("anonymous".into()))
        ]
    );
    // An empty default is no default.
    assert_eq!(parse("${uri:}", &[]), vec![Part::Var(Var::Uri, None)]);
    // Not variables: kept as text.
    for text in [
        "$", "a$", "$1abc", "${", "${host", "${:x}", "$-x", "cost: 5$",
    ] {
        assert_eq!(parse(text, &[]), vec![lit(text)], "{text}");
    }
}

#[test]
fn variable_names() {
    let params = vec!["id".to_string()];
    assert_eq!(
        var_of("http_x_real_ip", &params),
        Var::Header(HeaderName::from_static("x-real-ip"))
    );
    assert_eq!(var_of("arg_page", &params), Var::Arg("page".into()));
    assert_eq!(var_of("cookie_sid", &params), Var::Cookie("sid".into()));
    assert_eq!(var_of("id", &params), Var::Param(0));
    assert_eq!(var_of("args", &params), Var::QueryString);
    assert_eq!(var_of("hostname", &params), Var::Host);
    assert_eq!(var_of("nothing", &params), Var::Unknown);
}

fn head(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut b = http::Request::builder().method("POST").uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

fn eval(template: &str, head: &Parts, params: &[String]) -> Option<String> {
    let mut map = BTreeMap::new();
    map.insert("X-Out".to_string(), template.to_string());
    let names: Vec<String> = (0..params.len()).map(|i| format!("p{i}")).collect();
    let sh = SetHeaders::compile(&map, &names, "setHeaders")
        .unwrap()
        .unwrap();
    let req = Request {
        head,
        real_ip: "10.0.0.9".parse().unwrap(),
        tls: false,
        params,
    };
    let mut out = sh.evaluate(&req);
    assert_eq!(out.len(), 1);
    out.pop()
        .unwrap()
        .1
        .map(|v| v.to_str().unwrap().to_string())
}

#[test]
fn evaluates_the_request() {
    let h = head(
        "/a%20b?page=2&q=x+y",
        &[
            ("host", "Example.com:8080"),
            ("x-forwarded-for", "1.1.1.1"),
            ("x-real-ip", "2.2.2.2"),
            ("content-type", "text/plain"),
            ("cookie", "a=1; sid=abc"),
            ("authorization", "Basic dXNlcjpwYXNz"),
        ],
    );
    let cases = [
        ("$request_method", "POST"),
        ("$uri", "/a b"),
        ("$request_uri", "/a b?page=2&q=x+y"),
        ("$request", "POST /a b?page=2&q=x+y HTTP/1.1"),
        ("$scheme", "http"),
        ("$query_string|$args", "page=2&q=x+y|page=2&q=x+y"),
        (
            "$host|$hostname|$server_name",
            "Example.com|Example.com|Example.com",
        ),
        ("$http_host", "Example.com:8080"),
        ("$remote_addr", "10.0.0.9"),
        ("$remote_user", "user"),
        ("$proxy_add_x_forwarded_for", "1.1.1.1, 10.0.0.9"),
        ("$content_type", "text/plain"),
        ("[$content_length]", "[]"),
        ("$request_length", "0"),
        ("$server_protocol", "HTTP/1.1"),
        ("$request_time", "0.000"),
        ("$http_x_real_ip", "2.2.2.2"),
        ("$arg_q/$arg_page/[$arg_none]", "x y/2/[]"),
        ("$cookie_sid", "abc"),
        ("${cookie_none:dflt}", "dflt"),
        ("${http_x_real_ip:dflt}", "2.2.2.2"),
        ("[$unknown]", "[]"),
    ];
    for (template, want) in cases {
        assert_eq!(eval(template, &h, &[]).as_deref(), Some(want), "{template}");
    }
    assert!(eval("$msec", &h, &[]).unwrap().parse::<u64>().is_ok());
    assert!(eval("$time_iso8601", &h, &[]).unwrap().contains('T'));
    assert_eq!(
        eval("$time_local", &h, &[]).unwrap().matches('/').count(),
        2
    );
    // A path parameter.
    assert_eq!(eval("id=$p0", &h, &["42".into()]).as_deref(), Some("id=42"));
    // An empty result deletes; so does an empty value.
    assert_eq!(eval("$http_x_none", &h, &[]), None);
    // Without a client address header: just the client.
    let plain = head("/", &[("host", "a")]);
    assert_eq!(
        eval("$proxy_add_x_forwarded_for", &plain, &[]).as_deref(),
        Some("10.0.0.9")
    );
    assert_eq!(
        eval("${remote_user:anonymous}", &plain, &[]).as_deref(),
        Some("anonymous")
    );
}

#[test]
fn empty_values_delete_and_bad_ones_are_refused() {
    let mut map = BTreeMap::new();
    map.insert("X-Del".to_string(), String::new());
    map.insert("X-Fixed".to_string(), "v".to_string());
    let sh = SetHeaders::compile(&map, &[], "p").unwrap().unwrap();
    let h = head("/", &[]);
    let req = Request {
        head: &h,
        real_ip: "127.0.0.1".parse().unwrap(),
        tls: true,
        params: &[],
    };
    let out = sh.evaluate(&req);
    assert_eq!(out[0], (HeaderName::from_static("x-del"), None));
    assert_eq!(out[1].1.as_ref().map(|v| v.to_str().unwrap()), Some("v"));
    assert!(!sh.uses_params());
    assert!(SetHeaders::compile(&BTreeMap::new(), &[], "p")
        .unwrap()
        .is_none());

    for (k, v) in [
        ("bad name", "x"),
        ("X-A", "a\nb"),
        ("X-B", "$host\n"),
        ("X-C", "${host:a\nb}"),
    ] {
        let mut map = BTreeMap::new();
        map.insert(k.to_string(), v.to_string());
        let err = SetHeaders::compile(&map, &[], "rules[0].paths[1].setHeaders").unwrap_err();
        assert_eq!(
            err.path,
            format!("rules[0].paths[1].setHeaders.{k}"),
            "{k}: {v:?}"
        );
    }
}
