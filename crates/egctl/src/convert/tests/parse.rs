//! Tokenizer and parser.

use crate::convert::parse::{parse, Directive};

fn ok(text: &str) -> Vec<Directive> {
    parse(text, "t.conf").unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> String {
    match parse(text, "t.conf") {
        Ok(d) => panic!("parsed {d:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn simple_and_block_directives_with_positions() {
    let d = ok("worker_processes 4;\nhttp {\n  server { listen 80; }\n}\n");
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].name, "worker_processes");
    assert_eq!(d[0].args, ["4"]);
    assert!(d[0].block.is_none());
    assert_eq!((d[1].pos.line, d[1].pos.column), (2, 1));
    let server = &d[1].children()[0];
    assert_eq!(server.name, "server");
    assert_eq!((server.pos.line, server.pos.column), (3, 3));
    let listen = &server.children()[0];
    assert_eq!(
        (listen.name.as_str(), listen.args.as_slice()),
        ("listen", &["80".to_string()][..])
    );
    assert_eq!((listen.pos.line, listen.pos.column), (3, 12));
}

#[test]
fn quotes_and_escapes() {
    let d = ok(r#"a "two words" 'single "in" it' "esc \" \\ \t" 'it\'s' "" x;"#);
    assert_eq!(
        d[0].args,
        [
            "two words",
            "single \"in\" it",
            "esc \" \\ \t",
            "it's",
            "",
            "x"
        ]
    );
    // Backslashes that escape nothing stay (regular expressions need them).
    let d = ok(r"location ~ \.php$ { }");
    assert_eq!(d[0].args, ["~", r"\.php$"]);
    // Quoted words may hold the special characters.
    let d = ok(r#"add_header X "a;b{c}#d";"#);
    assert_eq!(d[0].args, ["X", "a;b{c}#d"]);
}

#[test]
fn comments_are_skipped() {
    let d = ok("# top\nuser www; # trailing ; { }\n#last");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].args, ["www"]);
    // `#` inside a word is part of it.
    let d = ok("a b#c;");
    assert_eq!(d[0].args, ["b#c"]);
}

#[test]
fn variables_stay_whole() {
    let d = ok("proxy_set_header Host ${host}:$server_port;");
    assert_eq!(d[0].args, ["Host", "${host}:$server_port"]);
    let d = ok("set $a ${b}c;");
    assert_eq!(d[0].args, ["$a", "${b}c"]);
}

#[test]
fn nesting() {
    let d = ok("http { server { location / { location /a { proxy_pass http://x; } } } }");
    let inner = &d[0].children()[0].children()[0].children()[0];
    assert_eq!(inner.name, "location");
    assert_eq!(inner.args, ["/a"]);
    assert_eq!(inner.children()[0].args, ["http://x"]);
    let empty = ok("events {}");
    assert_eq!(empty[0].block, Some(vec![]));
}

#[test]
fn errors_name_file_line_and_column() {
    assert_eq!(
        err("http {\n  server {\n}\n"),
        "t.conf:1:1: unexpected end of file, block \"http\" is not closed"
    );
    assert_eq!(err("a b;\n}\n"), "t.conf:2:1: unexpected \"}\"");
    assert_eq!(
        err("http {\n  listen 80\n}"),
        "t.conf:2:3: directive \"listen\" is not terminated by \";\""
    );
    assert_eq!(
        err("user www"),
        "t.conf:1:1: unexpected end of file, directive \"user\" is not terminated by \";\""
    );
    assert_eq!(err("  ;"), "t.conf:1:3: unexpected \";\"");
    assert_eq!(err("a \"open;\n"), "t.conf:1:3: unterminated quoted string");
    assert_eq!(
        err("a \"x\"y;"),
        "t.conf:1:6: unexpected \"y\" after a quoted string"
    );
}
