//! One directive at a time, through the whole conversion.

use serde_json::json;

use super::{convert_error, convert_text, pipeline, warned};

/// A server on port 80 with one `location /` holding `body`.
fn in_location(body: &str) -> String {
    format!("http {{ server {{ location / {{ {body} }} }} }}")
}

#[test]
fn proxy_pass_to_a_url() {
    let (c, _d) = convert_text(&in_location("proxy_pass http://127.0.0.1:9000;"), &[]);
    assert_eq!(c.objects.http_servers.len(), 1);
    let hs = &c.objects.http_servers[0];
    assert_eq!(hs["name"], "t-80");
    assert_eq!(hs["port"], 80);
    assert_eq!(
        hs["rules"],
        json!([{ "paths": [{ "pathPrefix": "/", "backend": "t-root" }] }])
    );
    assert_eq!(
        pipeline(&c, "t-root")["filters"],
        json!([{ "name": "proxy", "kind": "Proxy", "pools": [{
            "servers": [{ "url": "http://127.0.0.1:9000", "weight": 1 }],
            "loadBalance": { "policy": "roundRobin" } }] }])
    );
}

#[test]
fn proxy_pass_with_a_uri_replaces_the_prefix() {
    let (c, _d) = convert_text(
        "http { server { location /api/ { proxy_pass http://b:1/v2/; } } }",
        &[],
    );
    assert_eq!(
        pipeline(&c, "t-api")["filters"][0],
        json!({ "name": "request-adaptor", "kind": "RequestAdaptor",
                "path": { "regexpReplace": { "regexp": "^/api/", "replace": "/v2/" } } })
    );
    assert_eq!(
        pipeline(&c, "t-api")["filters"][1]["pools"][0]["servers"][0]["url"],
        "http://b:1"
    );
}

#[test]
fn upstream_weights_choose_weighted_random() {
    let conf = "http { upstream b { server a:1 weight=5; server c:2; server d:3 down; }
        server { location / { proxy_pass https://b; } } }";
    let (c, _d) = convert_text(conf, &[]);
    assert_eq!(
        pipeline(&c, "t-root")["filters"][0]["pools"][0],
        json!({ "servers": [{ "url": "https://a:1", "weight": 5 }, { "url": "https://c:2", "weight": 1 }],
                "loadBalance": { "policy": "weightedRandom" } })
    );
    assert!(warned(
        &c,
        "nginx.conf:1: upstream server d:3 is down; left out"
    ));
}

#[test]
fn locations_without_a_usable_proxy_pass_are_warned_about() {
    let conf = "http { server {
        location /a { return 200 ok; }
        location /b { proxy_pass http://$host; }
        location /c { fastcgi_pass 127.0.0.1:9000; }
        location /d { proxy_pass grpc://x; }
    } }";
    let (c, _d) = convert_text(conf, &[]);
    assert!(c.objects.pipelines.is_empty());
    assert!(warned(
        &c,
        "nginx.conf:2: directive \"return\" is not converted"
    ));
    assert!(warned(
        &c,
        "nginx.conf:2: location /a has no proxy_pass; not converted"
    ));
    assert!(warned(
        &c,
        "nginx.conf:3: proxy_pass http://$host uses variables"
    ));
    assert!(warned(
        &c,
        "nginx.conf:4: directive \"fastcgi_pass\" is not converted"
    ));
    assert!(warned(
        &c,
        "nginx.conf:5: proxy_pass grpc://x is not http or https"
    ));
    assert!(warned(
        &c,
        "nginx.conf:1: server has no location that could be converted"
    ));
}

#[test]
fn proxy_set_header_inherits_like_nginx() {
    let conf = "http { proxy_set_header X-A a; server {
        location /one { proxy_pass http://x; }
        location /two { proxy_set_header X-B $http_user_agent; proxy_pass http://x; }
    } }";
    let (c, _d) = convert_text(conf, &[]);
    assert_eq!(
        pipeline(&c, "t-one")["filters"][0]["header"],
        json!({ "set": { "X-A": "a" } })
    );
    // A level with its own proxy_set_header replaces the inherited ones.
    let two = &pipeline(&c, "t-two")["filters"][0];
    assert!(two.get("header").is_none());
    let template = two["template"].as_str().expect("template");
    assert_eq!(
        template,
        "header:\n  set:\n    'X-B': '{{ header .req.Header \"User-Agent\" }}'\n"
    );
    assert!(!template.contains("X-A"));
}

#[test]
fn unknown_variables_drop_the_header_with_a_warning() {
    let (c, _d) = convert_text(
        &in_location("proxy_set_header X-F $proxy_add_x_forwarded_for; proxy_pass http://x;"),
        &[],
    );
    assert_eq!(pipeline(&c, "t-root")["filters"][0]["kind"], "Proxy");
    assert!(warned(&c, "nginx variable $proxy_add_x_forwarded_for has no Easegress equivalent; header X-F not converted"));
}

#[test]
fn websocket_locations_use_the_websocket_proxy() {
    let (c, _d) = convert_text(
        &in_location(
            "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";
             proxy_pass https://chat:443;",
        ),
        &[],
    );
    assert_eq!(
        pipeline(&c, "t-root")["filters"],
        json!([{ "name": "websocket", "kind": "WebSocketProxy", "pools": [{
            "servers": [{ "url": "wss://chat:443", "weight": 1 }],
            "loadBalance": { "policy": "roundRobin" } }] }])
    );
    assert_eq!(
        c.objects.http_servers[0]["rules"][0]["paths"][0]["clientMaxBodySize"],
        -1
    );
}

#[test]
fn gzip_becomes_compression() {
    let conf = "http { gzip on; server {
        location /a { proxy_pass http://x; }
        location /b { gzip_min_length 512; proxy_pass http://x; }
        location /c { gzip off; proxy_pass http://x; }
        location /d { gzip_min_length lots; proxy_pass http://x; }
    } }";
    let (c, _d) = convert_text(conf, &[]);
    let compression = |n: &str| pipeline(&c, n)["filters"][0]["compression"].clone();
    assert_eq!(compression("t-a"), json!({ "minLength": 20 }));
    assert_eq!(compression("t-b"), json!({ "minLength": 512 }));
    assert_eq!(compression("t-c"), serde_json::Value::Null);
    assert_eq!(compression("t-d"), json!({ "minLength": 20 }));
    assert!(warned(
        &c,
        "nginx.conf:5: invalid gzip_min_length, 20 is used instead"
    ));
}

#[test]
fn path_order_follows_nginx_precedence() {
    let conf = "http { server {
        location / { proxy_pass http://x; }
        location ~ \\.php$ { proxy_pass http://x; }
        location /long/prefix { proxy_pass http://x; }
        location ^~ /img { proxy_pass http://x; }
        location = /exact { proxy_pass http://x; }
        location ~* \\.PNG$ { proxy_pass http://x; }
    } }";
    let (c, _d) = convert_text(conf, &[]);
    let paths = &c.objects.http_servers[0]["rules"][0]["paths"];
    let keys: Vec<String> = paths
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            let o = p.as_object().expect("path");
            let (k, v) = o
                .iter()
                .find(|(k, _)| k.starts_with("path"))
                .expect("a path key");
            format!("{k}={}", v.as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        keys,
        [
            "path=/exact",
            "pathPrefix=/img",
            "pathRegexp=\\.php$",
            "pathRegexp=(?i)\\.PNG$",
            "pathPrefix=/long/prefix",
            "pathPrefix=/",
        ]
    );
}

#[test]
fn nested_locations_are_flattened_without_inheriting_proxy_pass() {
    let conf = "http { server { location /a { proxy_set_header X-A 1; proxy_pass http://a;
        location /a/b { proxy_pass http://b; }
        location /a/c { }
    } } }";
    let (c, _d) = convert_text(conf, &[]);
    let names: Vec<&str> = c
        .objects
        .pipelines
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["t-a", "t-ab"]);
    assert_eq!(
        pipeline(&c, "t-ab")["filters"][0]["header"]["set"]["X-A"],
        "1"
    );
    assert!(warned(&c, "location /a/c has no proxy_pass"));
}

#[test]
fn servers_on_one_port_share_an_http_server_default_last() {
    let conf = "http {
        server { listen 80; server_name a.com; location / { proxy_pass http://a; } }
        server { listen 80 default_server; server_name b.com; location / { proxy_pass http://b; } }
        server { listen 80; server_name ~^c\\d+\\.com$; location / { proxy_pass http://c; } }
        server { listen 81; server_name d.com; location / { proxy_pass http://d; } }
    }";
    let (c, _d) = convert_text(conf, &[]);
    assert_eq!(c.objects.http_servers.len(), 2);
    let rules = &c.objects.http_servers[0]["rules"];
    assert_eq!(
        rules[0]["hosts"],
        json!([{ "value": "a.com", "isRegexp": false }])
    );
    assert_eq!(
        rules[1]["hosts"],
        json!([{ "value": "^c\\d+\\.com$", "isRegexp": true }])
    );
    // The default server takes every other host.
    assert!(rules[2].get("hosts").is_none());
    assert_eq!(rules[2]["paths"][0]["backend"], "t-root-2");
    // The only server of a port is its default server.
    assert!(c.objects.http_servers[1]["rules"][0].get("hosts").is_none());
}

#[test]
fn different_addresses_on_one_port_are_an_error() {
    let e =
        convert_error("http { server { listen 127.0.0.1:80; } server { listen 10.0.0.1:80; } }");
    assert!(
        e.contains("two servers on port 80 have different addresses"),
        "{e}"
    );
}

#[test]
fn ssl_certificates_are_read_and_encoded() {
    let conf = "http { server { listen 443 ssl; listen 80;
        ssl_certificate c/site.crt; ssl_certificate_key c/site.key;
        ssl_client_certificate c/ca.crt;
        location / { proxy_pass http://x; } } }";
    let files = [
        ("c/site.crt", "CERT"),
        ("c/site.key", "KEY"),
        ("c/ca.crt", "CA"),
    ];
    let (c, _d) = convert_text(conf, &files);
    let https = &c.objects.http_servers[0];
    assert_eq!(https["port"], 443);
    assert_eq!(https["https"], true);
    assert_eq!(https["certs"], json!({ "c/site.crt": "Q0VSVA==" }));
    assert_eq!(https["keys"], json!({ "c/site.crt": "S0VZ" }));
    assert_eq!(https["caCertBase64"], "Q0E=");
    let http = &c.objects.http_servers[1];
    assert_eq!(http["port"], 80);
    assert!(http.get("https").is_none() && http.get("certs").is_none());
    // Both ports use the same pipeline.
    assert_eq!(https["rules"][0]["paths"], http["rules"][0]["paths"]);
    assert_eq!(c.objects.pipelines.len(), 1);
}

#[test]
fn certificate_errors() {
    let e = convert_error("http { server { listen 443 ssl; ssl_certificate missing.crt; ssl_certificate_key missing.key; } }");
    assert!(
        e.contains("nginx.conf:1: read ") && e.contains("missing.crt"),
        "{e}"
    );
    let e = convert_error("http { server { ssl_certificate a.crt; } }");
    assert!(
        e.contains("has no matching ssl_certificate/ssl_certificate_key"),
        "{e}"
    );
}

#[test]
fn includes_relative_globbed_and_missing() {
    let conf = "http { include sites/*.conf; include nope.conf; }";
    let files = [
        (
            "sites/b.conf",
            "server { listen 82; location /b { proxy_pass http://b; } }",
        ),
        (
            "sites/a.conf",
            "server { listen 81; location /a { include snippets/p.inc; } }",
        ),
        ("sites/snippets/p.inc", "bad directive;"),
        ("snippets/p.inc", "proxy_pass http://a;"),
    ];
    let (c, d) = convert_text(conf, &files);
    let ports: Vec<i64> = c
        .objects
        .http_servers
        .iter()
        .filter_map(|h| h["port"].as_i64())
        .collect();
    assert_eq!(ports, [81, 82]);
    let missing = d.path().join("nope.conf");
    assert!(warned(
        &c,
        &format!("include file {} not found; ignored", missing.display())
    ));
}

#[test]
fn syntax_errors_in_includes_name_the_included_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n include x.conf;\n}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("x.conf"), "server {\n listen 80\n}\n").expect("write");
    let e = match crate::convert::convert_file(&dir.path().join("nginx.conf"), "t") {
        Ok(_) => panic!("converted"),
        Err(e) => e,
    };
    let expected = format!(
        "{}:2:2: directive \"listen\" is not terminated by \";\"",
        dir.path().join("x.conf").display()
    );
    assert_eq!(e, expected);
}

#[test]
fn an_include_that_includes_itself_is_an_error() {
    let (e, _) = (convert_error("include nginx.conf;"), ());
    assert!(e.contains("includes nested deeper than 32 levels"), "{e}");
}

#[test]
fn unsupported_directives_are_warned_at_their_line() {
    let conf =
        "events {}\nhttp {\n  sendfile on;\n  server {\n    root /srv;\n    listen 80;\n  }\n}\n";
    let (c, _d) = convert_text(conf, &[]);
    assert!(warned(
        &c,
        "nginx.conf:1: directive \"events\" is not converted"
    ));
    assert!(warned(
        &c,
        "nginx.conf:3: directive \"sendfile\" is not converted"
    ));
    assert!(warned(
        &c,
        "nginx.conf:5: directive \"root\" is not converted"
    ));
}
