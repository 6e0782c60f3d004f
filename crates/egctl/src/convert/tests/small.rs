//! The small pieces: listen, server_name, location arguments, variables, names, globs.

use crate::convert::collect::location_args;
use crate::convert::glob::matches;
use crate::convert::listen::{parse_listen, parse_server_name};
use crate::convert::model::{Host, Match};
use crate::convert::names::Names;
use crate::convert::parse::{parse, Directive};
use crate::convert::vars::translate;

fn directive(text: &str) -> Directive {
    parse(text, "t.conf").expect("parse").remove(0)
}

#[test]
fn listen_forms() {
    let l = |t: &str| {
        parse_listen(&directive(t))
            .map(|(l, ignored)| (l.address, l.port, l.ssl, l.default_server, ignored))
    };
    assert_eq!(
        l("listen 8080;"),
        Ok((String::new(), 8080, false, false, vec![]))
    );
    assert_eq!(
        l("listen 127.0.0.1:443 ssl;"),
        Ok(("127.0.0.1".into(), 443, true, false, vec![]))
    );
    assert_eq!(
        l("listen [::]:80 default_server;"),
        Ok((String::new(), 80, false, true, vec![]))
    );
    assert_eq!(
        l("listen *:81;"),
        Ok((String::new(), 81, false, false, vec![]))
    );
    assert_eq!(
        l("listen [::1]:82;"),
        Ok(("[::1]".into(), 82, false, false, vec![]))
    );
    assert_eq!(
        l("listen localhost;"),
        Ok(("localhost".into(), 80, false, false, vec![]))
    );
    assert_eq!(
        l("listen 443 ssl http2 reuseport;"),
        Ok((
            String::new(),
            443,
            true,
            false,
            vec!["reuseport".to_string()]
        ))
    );
    assert!(l("listen unix:/run/a.sock;").is_err());
    assert!(l("listen 70000;").is_err());
    assert!(l("listen a:b;").is_err());
}

#[test]
fn server_names() {
    let h = |v: &str, is_regexp| Host {
        value: v.into(),
        is_regexp,
    };
    let names = parse_server_name(&directive(
        r"server_name www.example.com *.example.com mail.* ~^(\w+)\.example\.net$ _ .example.org;",
    ));
    assert_eq!(
        names,
        Ok(vec![
            h("www.example.com", false),
            h("*.example.com", false),
            h("mail.*", false),
            h(r"^(\w+)\.example\.net$", true),
            h("example.org", false),
            h("*.example.org", false),
        ])
    );
    assert!(parse_server_name(&directive("server_name a.*.com;")).is_err());
    assert!(parse_server_name(&directive("server_name *.a.*;")).is_err());
}

#[test]
fn location_modifiers() {
    let l = |t: &str| location_args(&directive(t));
    assert_eq!(l("location /a {}"), Ok((Match::Prefix, "/a".into())));
    assert_eq!(l("location = /a {}"), Ok((Match::Exact, "/a".into())));
    assert_eq!(l("location =/a {}"), Ok((Match::Exact, "/a".into())));
    assert_eq!(
        l("location ^~ /a {}"),
        Ok((Match::PriorityPrefix, "/a".into()))
    );
    assert_eq!(l("location ~ ^/a$ {}"), Ok((Match::Regexp, "^/a$".into())));
    assert_eq!(l("location ~^/a$ {}"), Ok((Match::Regexp, "^/a$".into())));
    assert_eq!(
        l("location ~* \\.png {}"),
        Ok((Match::RegexpNoCase, "\\.png".into()))
    );
    assert!(l("location @named {}").is_err());
    assert!(l("location !! /a {}").is_err());
    assert!(l("location {}").is_err());
}

#[test]
fn variables_to_template_actions() {
    assert_eq!(translate("static"), Ok(("static".into(), false)));
    assert_eq!(translate("$host"), Ok(("{{ .req.Host }}".into(), true)));
    assert_eq!(
        translate("${scheme}://$host$request_uri"),
        Ok((
            "{{ .req.URL.Scheme }}://{{ .req.Host }}{{ .req.RequestURI }}".into(),
            true
        ))
    );
    assert_eq!(
        translate("$http_x_request_id"),
        Ok(("{{ header .req.Header \"X-Request-Id\" }}".into(), true))
    );
    assert_eq!(translate("cost: 5$"), Ok(("cost: 5$".into(), false)));
    assert_eq!(
        translate("$proxy_add_x_forwarded_for"),
        Err("$proxy_add_x_forwarded_for".into())
    );
}

#[test]
fn pipeline_names_are_unique_and_stable() {
    let mut n = Names::new("nginx");
    assert_eq!(n.pipeline("/user"), "nginx-user");
    assert_eq!(n.pipeline("/apis/v1"), "nginx-apisv1");
    assert_eq!(n.pipeline("/apis/v1/"), "nginx-apisv1-2");
    assert_eq!(n.pipeline("/"), "nginx-root");
    assert_eq!(n.pipeline("/"), "nginx-root-2");
    assert_eq!(n.pipeline("\\.(jpg|png)$"), "nginx-jpgpng");
}

#[test]
fn glob_patterns() {
    assert!(matches("*.conf", "a.conf"));
    assert!(!matches("*.conf", "a.conf.bak"));
    assert!(!matches("*", ".hidden"));
    assert!(matches(".*", ".hidden"));
    assert!(matches("site-?", "site-1"));
    assert!(matches("[a-c]x", "bx"));
    assert!(!matches("[!a-c]x", "bx"));
    assert!(matches("*", "default"));
}
