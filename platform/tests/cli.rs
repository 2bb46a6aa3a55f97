//! The `agora` binary as an operator uses it: help, keys, migrate, serve and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn agora(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
    for var in [
        "AGORA_DATABASE_URL",
        "AGORA_BIND",
        "AGORA_CONFIG",
        "AGORA_PUBLIC_URL",
        "AGORA_LOG",
        "AGORA_LOG_FORMAT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AGORA_DATA_DIR", data_dir).current_dir(data_dir);
    cmd
}

/// The webhook receivers here listen on 127.0.0.1: the operator's setting that lets test-mode
/// endpoints reach it (the SSRF guard refuses loopback otherwise).
const LOCAL_RECEIVERS: (&str, &str) = ("AGORA_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true");

fn run(data_dir: &Path, args: &[&str]) -> Output {
    agora(data_dir).args(args).output().expect("run agora")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn help_documents_every_command_and_flag() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run(dir.path(), &["--help"]));
    for word in [
        "serve",
        "worker",
        "migrate",
        "keys",
        "--database-url",
        "--data-dir",
        "--log",
        "--log-format",
        "--config",
        "AGORA_DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let help = stdout(&run(dir.path(), &["serve", "--help"]));
    for word in ["--bind", "--public-url", "AGORA_BIND", "AGORA_PUBLIC_URL"] {
        assert!(help.contains(word), "serve --help lacks {word}:\n{help}");
    }
    let help = stdout(&run(dir.path(), &["keys", "--help"]));
    for word in ["create", "list", "revoke"] {
        assert!(help.contains(word), "keys --help lacks {word}:\n{help}");
    }
}

fn is_secret(line: &str, prefix: &str) -> bool {
    line.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[test]
fn keys_create_prints_exactly_the_key_then_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["keys", "create", "--mode", "test"]);
    assert!(out.status.success());
    let printed = stdout(&out);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {printed:?}");
    assert!(is_secret(lines[0], "sk_test_"), "{printed:?}");
    assert!(printed.ends_with('\n'));

    let live = stdout(&run(dir.path(), &["keys", "create", "--mode", "live"]));
    assert!(is_secret(live.trim_end(), "sk_live_"), "{live:?}");

    let list = stdout(&run(dir.path(), &["keys", "list"]));
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{list}");
    assert!(
        rows[0].contains(" test ") && rows[0].contains("never") && rows[0].contains("active"),
        "{list}"
    );
    assert!(rows[1].contains(" live "), "{list}");
    assert!(
        !list.contains(lines[0]),
        "the list never shows a whole secret"
    );
    let key_id = rows[0].split_whitespace().next().unwrap();
    assert!(key_id.starts_with("key_"));

    let out = run(dir.path(), &["keys", "revoke", key_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = stdout(&run(dir.path(), &["keys", "list"]));
    assert!(list.lines().nth(1).unwrap().contains("revoked"), "{list}");
    assert_eq!(
        run(dir.path(), &["keys", "revoke", key_id]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(dir.path(), &["keys", "revoke", "nonsense"])
            .status
            .code(),
        Some(2)
    );
    assert!(!run(dir.path(), &["keys", "create", "--mode", "prod"])
        .status
        .success());
}

#[test]
fn keys_create_restricted_prints_an_rk_key_and_list_shows_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "keys",
            "create",
            "--mode",
            "live",
            "--restricted",
            "--allow",
            "charges:write, accounts:read",
            "--name",
            "checkout",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = stdout(&out);
    assert!(is_secret(printed.trim_end(), "rk_live_"), "{printed:?}");
    let list = stdout(&run(dir.path(), &["keys", "list"]));
    let row = list.lines().nth(1).unwrap();
    assert!(
        row.contains(" live ")
            && row.contains("rk_live_")
            && row.contains("accounts:read,charges:write")
            && row.contains("\"checkout\""),
        "{list}"
    );
    // A permission that does not exist, or --allow without --restricted: refused, no key.
    let bad = run(
        dir.path(),
        &[
            "keys",
            "create",
            "--mode",
            "test",
            "--restricted",
            "--allow",
            "charges:admin",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("read or write"));
    assert!(!run(
        dir.path(),
        &[
            "keys",
            "create",
            "--mode",
            "test",
            "--allow",
            "charges:read"
        ]
    )
    .status
    .success());
    let list = stdout(&run(dir.path(), &["keys", "list"]));
    assert_eq!(list.lines().count(), 2, "still one key: {list}");
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("agora.db").exists());
    assert!(stdout(&out).is_empty(), "logs go to stderr");
    // Twice is fine.
    assert!(run(dir.path(), &["migrate"]).status.success());
}

#[test]
fn a_bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--config", "missing.toml", "migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    std::fs::write(dir.path().join("agora.toml"), "bnid = \"x\"\n").unwrap();
    let out = run(dir.path(), &["migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bnid"));
}

struct Server {
    child: Child,
    port: u16,
    first_key: Option<String>,
    /// Everything the server wrote to stderr (its log) so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

fn start(dir: &Path) -> Server {
    start_with(dir, &[])
}

fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut command = agora(dir);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let log_writer = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(mut l) = log_writer.lock() {
                l.push_str(&line);
                l.push('\n');
            }
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(port.parse::<u16>().unwrap());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve logs its URL");
    // A first start prints the key before it logs its URL; stdout is line-buffered, so the
    // line is already there or never comes.
    let stdout = child.stdout.take().unwrap();
    let (key_tx, key_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = key_tx.send(line);
        }
    });
    let mut first_key = None;
    while let Ok(line) = key_rx.recv_timeout(Duration::from_millis(500)) {
        if is_secret(&line, "sk_test_") {
            first_key = Some(line);
        }
    }
    Server {
        child,
        port,
        first_key,
        log,
    }
}

fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn terminate(server: Server) {
    terminate_child(server.child);
}

/// SIGTERM, then a graceful exit (status 0) within 20 s: `serve` and `worker` alike.
fn terminate_child(child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_exit_of(child);
}

fn wait_for_exit(server: Server) {
    wait_for_exit_of(server.child);
}

fn wait_for_exit_of(mut child: Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "graceful shutdown exits 0, got {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the process did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `"id"` of the first object in an HTTP response.
fn id_in(response: &str) -> String {
    response
        .split("\"id\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned()
}

#[test]
fn serve_first_start_prints_a_key_that_works_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let key = server
        .first_key
        .clone()
        .expect("the first start prints a test key");
    assert!(
        dir.path().join("agora.db").exists(),
        "SQLite in the data dir"
    );

    let health = http(
        server.port,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let body = r#"{"country":"SE"}"#;
    let created = http(
        server.port,
        &format!(
            "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    assert!(created.contains("\"object\":\"account\""), "{created}");

    // In flight at SIGTERM: the request has begun (its body is still arriving) when the signal
    // comes; it must still finish, and the process exit cleanly after.
    let body = r#"{"country":"DE"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..5]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(&body.as_bytes()[5..]).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "in-flight request finished: {response}"
    );
    assert!(response.contains("\"country\":\"DE\""), "{response}");
    wait_for_exit(server);

    // A second start finds keys and prints none.
    let again = start(dir.path());
    assert_eq!(again.first_key, None);
    terminate(again);
}

#[test]
fn ledger_verify_reports_a_summary_or_what_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["ledger", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(
            "ledger verified: 0 entries, 0 lines, 0 accounts checked; all invariants hold"
        ),
        "{text}"
    );

    // Break it by hand, as a bad migration or an edit in psql would.
    let db = dir.path().join("agora.db");
    let sql = "INSERT INTO ledger_accounts (id, livemode, owner_id, kind, currency, posted_debits, posted_credits, pending_debits, pending_credits, created_at) \
               VALUES (X'0190000000007000800000000000000A', 0, X'00000000000000000000000000000000', 'clearing', 'EUR', 5, 0, 0, 0, '2026-01-01T00:00:00+00:00')";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        conn.execute_unprepared(sql).await.unwrap();
        conn.close().await.unwrap();
    });
    let out = run(dir.path(), &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("BROKEN: account test platform.clearing.EUR"),
        "{text}"
    );
    assert!(
        text.contains("1 problem(s)") || text.contains("2 problem(s)"),
        "{text}"
    );
}

fn post_json(port: u16, key: &str, path: &str, body: &str) -> String {
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// `agora keys usage`: what a key did, as the server counted it and wrote it at shutdown
/// (SIGTERM flushes what the usage worker had not yet written: the flush interval here is
/// far longer than the test).
#[test]
fn keys_usage_prints_a_keys_requests_per_route_after_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[("AGORA_API_USAGE_FLUSH_MS", "600000")]);
    let key = server.first_key.clone().expect("a first key");
    for _ in 0..2 {
        let created = post_json(server.port, &key, "/v1/accounts", r#"{"country":"SE"}"#);
        assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    }
    let missing = http(
        server.port,
        &format!(
            "GET /v1/accounts/acct_01h455vb4pex5vsknk084sn02q HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    terminate(server);

    // By the key's public prefix, as `agora keys list` shows it.
    let out = run(
        dir.path(),
        &["keys", "usage", &key[..12], "--granularity", "day"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = stdout(&out);
    let total = |method: &str, route: &str| -> Vec<String> {
        printed
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|w| w.len() >= 11 && w[0] == "TOTAL" && w[1] == method && w[2] == route)
            .unwrap_or_else(|| panic!("no TOTAL line for {method} {route}:\n{printed}"))
    };
    // TOTAL  METHOD  ROUTE  REQUESTS  ERRORS  2XX  3XX  4XX  5XX  P50_MS  P99_MS
    let created = total("POST", "/v1/accounts");
    assert_eq!(&created[3..9], ["2", "0", "2", "0", "0", "0"], "{printed}");
    assert!(created[9].parse::<f64>().unwrap() > 0.0, "{printed}");
    let missing = total("GET", "/v1/accounts/{id}");
    assert_eq!(&missing[3..9], ["1", "1", "0", "0", "1", "0"], "{printed}");
    assert!(
        printed.lines().next().unwrap().contains(" test "),
        "{printed}"
    );

    let out = run(dir.path(), &["keys", "usage", "sk_test_zzzz…zzzz"]);
    assert_eq!(out.status.code(), Some(1), "no such key");
    let out = run(dir.path(), &["keys", "usage", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        dir.path(),
        &[
            "keys",
            "usage",
            &key[..12],
            "--granularity",
            "minute",
            "--from",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "too many minutes");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1440"));
}

/// The process is killed (SIGKILL, no shutdown) after an event is written and before it can be
/// delivered; a restarted server delivers it, because the delivery row committed with the event.
#[test]
fn an_event_written_before_a_kill_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that records the first request it gets.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_port = receiver.local_addr().unwrap().port();
    let (got_tx, got_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for stream in receiver.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut request = Vec::new();
            // Read until the body announced by Content-Length has arrived.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = got_tx.send(String::from_utf8_lossy(&request).to_string());
        }
    });

    // First life: no webhook worker, so nothing can be delivered before the kill.
    let first = start_with(
        dir.path(),
        &[("AGORA_WEBHOOK_WORKER", "false"), LOCAL_RECEIVERS],
    );
    let key = first.first_key.clone().expect("first start prints a key");
    let endpoint = post_json(
        first.port,
        &key,
        "/v1/webhook_endpoints",
        &format!(
            r#"{{"url":"http://127.0.0.1:{receiver_port}/hook","enabled_events":["account.created"]}}"#
        ),
    );
    assert!(endpoint.starts_with("HTTP/1.1 200"), "{endpoint}");
    let created = post_json(first.port, &key, "/v1/accounts", r#"{"country":"SE"}"#);
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    let account_id = id_in(&created);
    let mut child = first.child;
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    assert!(
        got_rx.try_recv().is_err(),
        "nothing was delivered before the kill"
    );

    // Second life: the worker finds the delivery written with the event and sends it.
    let second = start_with(
        dir.path(),
        &[("AGORA_WEBHOOK_POLL_MS", "100"), LOCAL_RECEIVERS],
    );
    let request = got_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the event is delivered after restart");
    assert!(request.starts_with("POST /hook"), "{request}");
    let lower = request.to_ascii_lowercase();
    assert!(lower.contains("webhook-signature: v1,"), "{request}");
    assert!(
        request.contains("\"type\":\"account.created\""),
        "{request}"
    );
    assert!(request.contains(&account_id), "{request}");
    terminate(second);
}

#[test]
fn payouts_run_dry_run_and_import_report_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&run(dir.path(), &["payouts", "--help"]));
    for word in ["run", "import", "fx-import"] {
        assert!(help.contains(word), "payouts --help lacks {word}:\n{help}");
    }
    let help = stdout(&run(dir.path(), &["payouts", "run", "--help"]));
    for word in ["--as-of", "--dry-run", "--mode"] {
        assert!(
            help.contains(word),
            "payouts run --help lacks {word}:\n{help}"
        );
    }
    // Nothing to pay on an empty database; a dry run says so and exits 0.
    let out = run(
        dir.path(),
        &[
            "payouts",
            "run",
            "--as-of",
            "2026-12-01",
            "--dry-run",
            "--mode",
            "test",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("0 payouts to make"),
        "{}",
        stdout(&out)
    );
    let out = run(dir.path(), &["payouts", "run", "--as-of", "2026-13-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
    // A file that is neither a status report nor a return file is refused.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "not a bank file\n").unwrap();
    let out = run(dir.path(), &["payouts", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("file_invalid"));
    let rates = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../payouts/tests/fixtures/eurofxref-daily.xml"
    );
    let out = run(dir.path(), &["payouts", "fx-import", rates]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("rates of 2026-11-24"),
        "{}",
        stdout(&out)
    );
}

/// `payouts run` names every seller it looked at and did not pay, with the reason, after the
/// payouts: in a dry run and in a real one.
#[test]
fn payouts_run_prints_why_a_seller_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let key = server.first_key.clone().expect("first start prints a key");
    // A schedule, but no KYC yet.
    let created = post_json(server.port, &key, "/v1/accounts", r#"{"country": "SE"}"#);
    assert!(created.contains(" 200 "), "{created}");
    let acct = id_in(&created);
    let set = post_json(
        server.port,
        &key,
        &format!("/v1/accounts/{acct}/payout_settings"),
        r#"{"schedule": {"interval": "daily"}}"#,
    );
    assert!(set.contains(" 200 "), "{set}");
    terminate(server);

    for dry in [true, false] {
        let mut args = vec!["payouts", "run", "--as-of", "2026-12-01", "--mode", "test"];
        if dry {
            args.push("--dry-run");
        }
        let out = run(dir.path(), &args);
        assert!(out.status.success(), "{out:?}");
        let printed = stdout(&out);
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), 2, "{printed}");
        assert_eq!(
            lines[0],
            format!(
                "SKIPPED  {acct}  -  payouts_disabled  payouts are not enabled for the account \
                 (requirements.fields_needed); see its requirements"
            )
        );
        let made = if dry { "to make" } else { "made" };
        assert_eq!(
            lines[1],
            format!(
                "0 payouts {made}, 1 skipped (0 already made this period, 0 refused), 0 batches"
            )
        );
    }
}

/// DESIGN.md: logs never carry secrets or personal data. A seller's full id number, bank
/// account number and a wrong id number go through the API — accepted, refused for a bad checksum, and
/// read back — with the most verbose log level, and none of them appears in the log.
#[test]
fn logs_never_carry_id_numbers_or_bank_account_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[("AGORA_LOG", "trace")]);
    let key = server.first_key.clone().expect("first start prints a key");
    let port = server.port;
    let secrets = [
        "19900102-1238",
        "199001021238",
        "SE4550000000058398257466",
        "5000000058398257466",
        "19900102-1234",
    ];
    let created = post_json(
        port,
        &key,
        "/v1/accounts",
        r#"{"country": "SE", "business_type": "individual",
            "individual": {"first_name": "Anna", "last_name": "Svensson", "dob": "1990-01-02",
                           "email": "anna@example.se", "id_number": "19900102-1238"}}"#,
    );
    assert!(created.contains(" 200 "), "{created}");
    let id = id_in(&created);
    // Refused for its checksum: the error names the field, not the value.
    let refused = post_json(
        port,
        &key,
        &format!("/v1/accounts/{id}"),
        r#"{"individual": {"id_number": "19900102-1234"}}"#,
    );
    assert!(refused.contains(" 400 "), "{refused}");
    assert!(!refused.contains("19900102-1234"), "{refused}");
    let bank = post_json(
        port,
        &key,
        &format!("/v1/accounts/{id}/external_accounts"),
        r#"{"country": "SE", "currency": "sek", "iban": "SE4550000000058398257466"}"#,
    );
    assert!(bank.contains(" 200 "), "{bank}");
    let bad_bank = post_json(
        port,
        &key,
        &format!("/v1/accounts/{id}/external_accounts"),
        r#"{"country": "SE", "currency": "eur", "iban": "SE4550000000058398257467"}"#,
    );
    assert!(bad_bank.contains(" 400 "), "{bad_bank}");
    let read = http(
        port,
        &format!(
            "GET /v1/accounts/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(read.contains(" 200 "), "{read}");
    for s in secrets.iter().take(4) {
        assert!(!read.contains(s), "the API shows {s}: {read}");
    }
    let log = server.log.lock().unwrap().clone();
    terminate(server);
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "verbose: {log}"
    );
    for s in secrets.iter().chain(["SE4550000000058398257467"].iter()) {
        assert!(!log.contains(s), "{s} is in the log:\n{log}");
    }
}

/// `agora worker` does the background work apart from the HTTP server: an invitation queued
/// by an API-only `serve` (email worker off) is sent by a separate worker process, which then
/// stops cleanly on SIGTERM.
#[test]
fn a_separate_worker_sends_what_an_api_only_server_queued() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), &[("AGORA_EMAIL_WORKER", "false")]);
    let key = server.first_key.clone().expect("first start prints a key");
    let created = post_json(
        server.port,
        &key,
        "/v1/accounts",
        r#"{"country": "SE", "email": "anna@example.se"}"#,
    );
    assert!(created.contains(" 200 "), "{created}");
    let id = id_in(&created);
    let queued = post_json(
        server.port,
        &key,
        &format!("/v1/accounts/{id}/onboarding_email"),
        r#"{"refresh_url": "https://p.example/r", "return_url": "https://p.example/s"}"#,
    );
    assert!(queued.contains(" 200 "), "{queued}");
    let outbox = dir.path().join("outbox");
    let emails = || -> usize {
        std::fs::read_dir(&outbox)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(emails(), 0, "the API-only server sends no email");

    let worker = agora(dir.path())
        .env("AGORA_EMAIL_POLL_MS", "100")
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while emails() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(emails(), 1, "the worker sent the queued invitation");
    terminate_child(worker);
    terminate(server);
}

/// `agora worker` with metrics_bind: its workers' status is scraped and probed like the API's.
#[test]
fn a_worker_with_metrics_bind_serves_its_metrics_and_probes() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = agora(dir.path())
        .env("AGORA_METRICS_BIND", "127.0.0.1:0")
        .arg("worker")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = worker.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = tx.send(port.parse::<u16>().unwrap());
            }
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker logs its metrics address");
    // The settlement workers pass at start; the scrape shows them (and nothing of an API).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut scraped = String::new();
    while Instant::now() < deadline {
        scraped = http(
            port,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if scraped
            .contains("agora_worker_last_success_timestamp_seconds{worker=\"settlement:test\"}")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        scraped.contains("agora_worker_last_success_timestamp_seconds{worker=\"settlement:test\"}"),
        "{scraped}"
    );
    let ready = http(
        port,
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(ready.contains("\"settlement:live\""), "{ready}");
    let api = http(
        port,
        "GET /v1/charges HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(api.starts_with("HTTP/1.1 404"), "{api}");
    terminate_child(worker);
}

/// Deliveries in flight when the process is killed: after a restart none is sent again while
/// its claim's lease holds, and each is sent again once the lease has passed (at least once,
/// never lost).
#[test]
fn deliveries_in_flight_at_a_kill_are_sent_again_after_their_lease_and_only_then() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_port = receiver.local_addr().unwrap().port();
    // While `hold` is set the receiver reads requests and never answers.
    let hold = Arc::new(AtomicBool::new(true));
    let arrived = Arc::new(Mutex::new(Vec::<String>::new()));
    let (hold_r, arrived_r) = (hold.clone(), arrived.clone());
    std::thread::spawn(move || {
        for stream in receiver.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (hold, arrived) = (hold_r.clone(), arrived_r.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let mut buf = vec![0u8; 64 * 1024];
                let mut pending = Vec::new();
                loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&pending).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let header = |name: &str| {
                        head.lines().find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix(&format!("{name}:"))
                                .map(|v| v.trim().to_owned())
                        })
                    };
                    let len: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if body.len() < len {
                        continue;
                    }
                    arrived
                        .lock()
                        .unwrap()
                        .push(header("webhook-id").unwrap_or_default());
                    pending.clear();
                    if hold.load(Ordering::SeqCst) {
                        // Never answered: the connection stays open until the sender dies.
                        let _ = stream.read(&mut buf);
                        return;
                    }
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                }
            });
        }
    });
    let count = || arrived.lock().unwrap().len();
    let wait_for = |n: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while count() < n {
            assert!(
                Instant::now() < deadline,
                "{what}: {:?}",
                arrived.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    };

    let first = start_with(
        dir.path(),
        &[("AGORA_WEBHOOK_POLL_MS", "100"), LOCAL_RECEIVERS],
    );
    let key = first.first_key.clone().expect("first start prints a key");
    let endpoint = post_json(
        first.port,
        &key,
        "/v1/webhook_endpoints",
        &format!(
            r#"{{"url":"http://127.0.0.1:{receiver_port}/hook","enabled_events":["account.created"]}}"#
        ),
    );
    assert!(endpoint.starts_with("HTTP/1.1 200"), "{endpoint}");
    for _ in 0..3 {
        let created = post_json(first.port, &key, "/v1/accounts", r#"{"country":"SE"}"#);
        assert!(created.starts_with("HTTP/1.1 200"), "{created}");
    }
    wait_for(3, "three requests in flight");
    let mut child = first.child;
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    hold.store(false, Ordering::SeqCst);

    // Second life: the claims (60 s on the test clock) still hold.
    let second = start_with(
        dir.path(),
        &[("AGORA_WEBHOOK_POLL_MS", "100"), LOCAL_RECEIVERS],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(count(), 3, "nothing is sent twice within a lease");
    // The test clock passes the lease: each is sent once more.
    let advanced = post_json(
        second.port,
        &key,
        "/v1/test_helpers/advance_clock",
        r#"{"seconds":61}"#,
    );
    assert!(advanced.starts_with("HTTP/1.1 200"), "{advanced}");
    wait_for(6, "each held delivery is sent again");
    std::thread::sleep(Duration::from_millis(1000));
    let got = arrived.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        6,
        "delivered and recorded, not sent a third time: {got:?}"
    );
    let mut first_life = got[..3].to_vec();
    let mut second_life = got[3..].to_vec();
    first_life.sort();
    second_life.sort();
    assert_eq!(first_life, second_life, "the same three events: {got:?}");
    terminate(second);
}

/// A scratch PostgreSQL database for one test, dropped when the test ends (pass or fail).
struct ScratchDatabase {
    server: String,
    name: String,
    url: String,
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // The test may be unwinding: a runtime and a connection of our own, on a thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sea_orm::ConnectionTrait;
                if let Ok(conn) = sea_orm::Database::connect(&server).await {
                    let _ = conn
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A scratch database for one test: SQLite in the test's dir (the default, `None`), or a fresh
/// PostgreSQL database on the server `AGORA_TEST_DATABASE_URL` points at, when it is set.
fn scratch_database(name: &str) -> Option<ScratchDatabase> {
    let server = std::env::var("AGORA_TEST_DATABASE_URL").ok()?;
    let db = format!(
        "agora_cli_{name}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(&server).await.unwrap();
        conn.execute_unprepared(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
    let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
    Some(ScratchDatabase {
        url: format!("{base}/{db}"),
        server,
        name: db,
    })
}

/// Status code and body of a raw HTTP response.
fn status_and_body(response: &str) -> (u16, String) {
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post_charge(port: u16, key: &str, idempotency_key: &str, body: &str) -> String {
    // A refused connection (the server was killed) reads as an empty response.
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "POST /v1/charges HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nIdempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// Group commit and a crash: charges are answered only after their batch committed, so after
/// a SIGKILL in the middle of many concurrent charges every charge answered 200 exists, a
/// retry of every key gives exactly one charge per key (a replay for the committed ones), no
/// charge is duplicated, and the ledger verifies.
#[test]
fn charges_answered_before_a_kill_survive_it_and_retries_make_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = scratch_database("crash");
    let mut env = vec![("AGORA_RATE_LIMIT_PER_SECOND", "0".to_owned())];
    if let Some(scratch) = &database {
        env.push(("AGORA_DATABASE_URL", scratch.url.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = start_with(dir.path(), &env);
    let key = first.first_key.clone().expect("first start prints a key");
    let seller = post_json(
        first.port,
        &key,
        "/v1/accounts",
        r#"{"country":"DE","business_type":"individual","business_profile":{"mcc":"5734","url":"https://shop.example.de"},"individual":{"first_name":"Erika","last_name":"Muster","email":"erika@example.de","dob":"1980-05-01"},"tos_acceptance":{"ip":"192.0.2.10"}}"#,
    );
    assert!(seller.contains("\"charges_enabled\":true"), "{seller}");
    let seller = id_in(&seller);
    let body = format!(
        r#"{{"amount":1000,"currency":"eur","destination":"{seller}","application_fee_amount":100,"payment_method":"pm_card_visa"}}"#
    );

    // 16 clients, each posting charges with keys of its own until the server dies.
    let port = first.port;
    let clients: Vec<_> = (0..16)
        .map(|client| {
            let (key, body) = (key.clone(), body.clone());
            std::thread::spawn(move || {
                let mut sent = Vec::new();
                for i in 0.. {
                    let idempotency_key = format!("crash-{client}-{i}");
                    let (status, answer) =
                        status_and_body(&post_charge(port, &key, &idempotency_key, &body));
                    let id = (status == 200).then(|| id_in(&answer));
                    sent.push((idempotency_key, status, id));
                    if status == 0 {
                        return sent;
                    }
                }
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let mut child = first.child;
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
    let sent: Vec<(String, u16, Option<String>)> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let answered: Vec<_> = sent.iter().filter(|(_, s, _)| *s == 200).collect();
    assert!(
        answered.len() >= 16,
        "charges were answered before the kill: {}",
        answered.len()
    );
    for (_, status, _) in &sent {
        assert!(
            matches!(status, 0 | 200),
            "only 200s before the kill, got {status}"
        );
    }

    // Second life on the same database.
    let second = start_with(dir.path(), &env);
    for (idempotency_key, _, id) in &answered {
        let id = id.as_deref().unwrap();
        let got = http(
            second.port,
            &format!("GET /v1/charges/{id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"),
        );
        assert!(
            got.starts_with("HTTP/1.1 200"),
            "{idempotency_key} {id}: {got}"
        );
    }
    let mut ids = std::collections::BTreeSet::new();
    for (idempotency_key, status, id) in &sent {
        let retry = post_charge(second.port, &key, idempotency_key, &body);
        let (retry_status, answer) = status_and_body(&retry);
        assert_eq!(retry_status, 200, "{idempotency_key}: {retry}");
        let retry_id = id_in(&answer);
        if *status == 200 {
            assert!(
                retry
                    .to_ascii_lowercase()
                    .contains("idempotent-replayed: true"),
                "a committed charge is replayed: {retry}"
            );
            assert_eq!(Some(&retry_id), id.as_ref(), "{idempotency_key}");
        }
        assert!(ids.insert(retry_id), "one charge per key");
    }
    // Every charge in the database belongs to exactly one key.
    let mut listed = 0;
    let mut after = String::new();
    loop {
        let page = http(
            second.port,
            &format!("GET /v1/charges?limit=100{after} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"),
        );
        let (_, page) = status_and_body(&page);
        let page: serde_json::Value = serde_json::from_str(&page).unwrap();
        let data = page["data"].as_array().unwrap();
        for charge in data {
            assert!(ids.contains(charge["id"].as_str().unwrap()), "{charge}");
        }
        listed += data.len();
        match (page["has_more"].as_bool(), data.last()) {
            (Some(true), Some(last)) => {
                after = format!("&starting_after={}", last["id"].as_str().unwrap())
            }
            _ => break,
        }
    }
    assert_eq!(listed, ids.len(), "one charge per key, none duplicated");
    terminate(second);

    let mut verify = agora(dir.path());
    for (k, v) in &env {
        verify.env(k, v);
    }
    let out = verify.args(["ledger", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{} charges sent, {} answered before the kill, {} after retries; {}",
        sent.len(),
        answered.len(),
        ids.len(),
        stdout(&out).trim()
    );
}

/// `agora keys rotate-encryption` as an operator runs it: refused without the new key; with
/// the new key and the old one among the previous keys (both from the environment; base64 with
/// `+`, `/` and `=`), it re-seals what the server sealed under the old key and says what it
/// did, a second run finds nothing left, and the server then runs on the new key alone and
/// still finds the duplicate bank account.
#[test]
fn keys_rotate_encryption_moves_sealed_values_to_the_new_key() {
    const OLD: &str = "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/AQI=";
    const NEW: &str = "+D73+D73+D73+D73+D73+D73+D73+D73+D73+D73AwQ=";
    const FINGERPRINT: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";
    let dir = tempfile::tempdir().unwrap();
    let refused = run(dir.path(), &["keys", "rotate-encryption"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("encryption_key"), "{stderr}");

    let server = start_with(
        dir.path(),
        &[
            ("AGORA_ENCRYPTION_KEY", OLD),
            ("AGORA_FINGERPRINT_KEY", FINGERPRINT),
        ],
    );
    let key = server.first_key.clone().expect("first start prints a key");
    let port = server.port;
    let created = post_json(
        port,
        &key,
        "/v1/accounts",
        r#"{"country": "SE", "business_type": "individual",
            "individual": {"first_name": "Anna", "last_name": "Svensson", "dob": "1990-01-02",
                           "email": "anna@example.se", "id_number": "19900102-1238"}}"#,
    );
    assert!(created.contains(" 200 "), "{created}");
    let id = id_in(&created);
    let bank_path = format!("/v1/accounts/{id}/external_accounts");
    let bank = r#"{"country": "SE", "currency": "sek", "iban": "SE4550000000058398257466"}"#;
    assert!(post_json(port, &key, &bank_path, bank).contains(" 200 "));
    terminate(server);

    let rotate = || {
        agora(dir.path())
            .env("AGORA_ENCRYPTION_KEY", NEW)
            .env("AGORA_ENCRYPTION_PREVIOUS_KEYS", format!("[{OLD}]"))
            .env("AGORA_FINGERPRINT_KEY", FINGERPRINT)
            .args(["keys", "rotate-encryption", "--batch-size", "1"])
            .output()
            .unwrap()
    };
    let first = rotate();
    let printed = stdout(&first);
    assert!(
        first.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(printed.contains("RESEALED  profile  1"), "{printed}");
    assert!(printed.contains("RESEALED  bank_account  1"), "{printed}");
    assert!(
        printed.contains("previous keys can be removed"),
        "{printed}"
    );
    let second = rotate();
    assert!(second.status.success());
    assert!(!stdout(&second).contains("RESEALED"), "{}", stdout(&second));

    let server = start_with(
        dir.path(),
        &[
            ("AGORA_ENCRYPTION_KEY", NEW),
            ("AGORA_FINGERPRINT_KEY", FINGERPRINT),
        ],
    );
    let again = post_json(server.port, &key, &bank_path, bank);
    assert!(again.contains(" 400 "), "{again}");
    assert!(again.contains("bank_account_exists"), "{again}");
    terminate(server);
}
