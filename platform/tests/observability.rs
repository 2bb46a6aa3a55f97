//! The `agora` binary's logs and traces as an operator sees them (issue 18): every log line of
//! a request carries its request id, in text and JSON; spans reach an OpenTelemetry collector
//! over OTLP/HTTP, the last ones at shutdown; a collector that is down costs requests nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;

struct Server {
    child: Child,
    port: u16,
    key: String,
    stderr: JoinHandle<Vec<String>>,
}

/// `agora serve` on a fresh data dir with `env` (and nothing from the caller's environment
/// that would change it), once it listens and printed its first key.
fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agora"));
    for (var, _) in std::env::vars() {
        if var.starts_with("AGORA_") || var.starts_with("OTEL_") {
            command.env_remove(var);
        }
    }
    command
        .env("AGORA_DATA_DIR", dir)
        .current_dir(dir)
        .envs(env.iter().copied())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let (port_tx, port_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let _ = port_tx.send(port.parse::<u16>().unwrap());
            }
            lines.push(line);
        }
        lines
    });
    let port = port_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve logs its URL");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut key = String::new();
    while !key.starts_with("sk_test_") {
        key.clear();
        assert!(stdout.read_line(&mut key).unwrap() > 0, "a first key");
        key = key.trim().to_owned();
    }
    Server {
        child,
        port,
        key,
        stderr,
    }
}

/// SIGTERM; the process exits 0 within `within`; its log lines.
fn stop(server: Server, within: Duration) -> Vec<String> {
    let Server {
        mut child, stderr, ..
    } = server;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(Instant::now() < deadline, "not stopped within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    stderr.join().unwrap()
}

struct Answer {
    status: u16,
    request_id: String,
    body: Value,
}

fn call(port: u16, key: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    let request_id = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("request-id: ")
                .map(str::to_owned)
        })
        .expect("a Request-Id header");
    Answer {
        status,
        request_id,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

const SELLER: &str = r#"{"country":"DE","business_type":"individual","business_profile":{"mcc":"5734","url":"https://shop.example.de"},"individual":{"first_name":"Erika","last_name":"Muster","email":"erika@example.de","dob":"1980-05-01"},"tos_acceptance":{"ip":"192.0.2.10"}}"#;

/// A seller, then one charge to it: the charge's answer.
fn charge(server: &Server) -> Answer {
    let seller = call(
        server.port,
        &server.key,
        "POST",
        "/v1/accounts",
        Some(SELLER),
    );
    assert_eq!(seller.body["charges_enabled"], true, "{}", seller.body);
    let body = format!(
        r#"{{"amount":1000,"currency":"eur","destination":"{}","payment_method":"pm_card_visa"}}"#,
        seller.body["id"].as_str().unwrap()
    );
    let charge = call(server.port, &server.key, "POST", "/v1/charges", Some(&body));
    assert_eq!(charge.status, 200, "{}", charge.body);
    charge
}

/// Every log line of a charge request names its request: the handler's and the domain's (in
/// the request's span), the charge writer's (its batch span lists the batch's requests), and
/// the request's last line; in both log formats.
#[test]
fn every_log_line_of_a_charge_request_carries_its_request_id_in_text_and_json() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let server = start(
            dir.path(),
            &[
                ("AGORA_LOG", "agora_platform=debug,warn"),
                ("AGORA_LOG_FORMAT", format),
            ],
        );
        let charge = charge(&server);
        let charge_id = charge.body["id"].as_str().unwrap().to_owned();
        let request_id = charge.request_id;
        let lines = stop(server, Duration::from_secs(20));

        let planned: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("charge planned") && l.contains(&charge_id))
            .collect();
        let written: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("charge batch committed") && l.contains(&request_id))
            .collect();
        let finished: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("request finished") && l.contains(&request_id))
            .collect();
        assert_eq!(planned.len(), 1, "{format}: {lines:#?}");
        assert_eq!(written.len(), 1, "{format}: the writer's line: {lines:#?}");
        assert_eq!(finished.len(), 1, "{format}: {lines:#?}");
        // Every line about this charge is one of its request's lines.
        for line in lines.iter().filter(|l| l.contains(&charge_id)) {
            assert!(line.contains(&request_id), "{format}: {line}");
        }
        if format == "text" {
            assert!(
                planned[0].contains(&format!("request_id={request_id}")),
                "{}",
                planned[0]
            );
            continue;
        }
        // JSON: the ids are fields of the spans each line lists, not just text in it.
        let json = |line: &String| -> Value { serde_json::from_str(line).expect("a JSON line") };
        let in_spans = |line: &Value, field: &str| -> Vec<String> {
            line["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s[field].as_str().map(str::to_owned))
                .collect()
        };
        let planned = json(planned[0]);
        assert_eq!(planned["fields"]["charge"], charge_id.as_str());
        assert_eq!(in_spans(&planned, "request_id"), vec![request_id.clone()]);
        let written = json(written[0]);
        let batches = in_spans(&written, "request_ids");
        assert!(
            batches
                .iter()
                .any(|ids| ids.split(',').any(|id| id == request_id)),
            "{written}"
        );
        let finished = json(finished[0]);
        assert_eq!(finished["span"]["request_id"], request_id.as_str());
        assert_eq!(finished["span"]["route"], "/v1/charges");
    }
}

/// A tiny OTLP/HTTP collector: answers every request 200 and hands over (path, content type,
/// body). Keeps connections alive, as the exporter's client reuses them.
fn collector() -> (u16, mpsc::Receiver<(String, String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').unwrap_or((header, ""));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let _ = tx.send((path, content_type, body));
                    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                    if stream.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key) {
        Some(any_value::Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Spans reach a collector over OTLP/HTTP: the request span with its route, method, status
/// and request id, under the service name `agora`, and the charge writer's batch linked to
/// the charge's request. The export delay is a minute here, so they can only have been sent
/// by the flush at shutdown.
#[test]
fn spans_reach_an_otlp_collector_and_the_last_ones_are_flushed_at_shutdown() {
    let (port, received) = collector();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let server = start(
        dir.path(),
        &[
            ("AGORA_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
    );
    let listed = call(server.port, &server.key, "GET", "/v1/accounts", None);
    assert_eq!(listed.status, 200);
    let charge = charge(&server);
    let lines = stop(server, Duration::from_secs(20));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("exporting spans over OTLP/HTTP")),
        "{lines:#?}"
    );

    let mut spans: Vec<(Vec<KeyValue>, Span)> = Vec::new();
    while let Ok((path, content_type, body)) = received.recv_timeout(Duration::from_secs(1)) {
        assert_eq!(path, "/v1/traces");
        assert_eq!(content_type, "application/x-protobuf");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("OTLP protobuf");
        for resource in request.resource_spans {
            let resource_attributes = resource.resource.map(|r| r.attributes).unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((resource_attributes.clone(), span));
                }
            }
        }
    }
    let request_span = |request_id: &str| {
        spans
            .iter()
            .find(|(_, s)| {
                s.name == "request"
                    && string(&s.attributes, "request_id").as_deref() == Some(request_id)
            })
            .unwrap_or_else(|| panic!("a request span for {request_id} among {spans:#?}"))
    };
    let (resource, listed_span) = request_span(&listed.request_id);
    assert_eq!(string(resource, "service.name").as_deref(), Some("agora"));
    assert_eq!(
        string(&listed_span.attributes, "route").as_deref(),
        Some("/v1/accounts")
    );
    assert_eq!(
        string(&listed_span.attributes, "method").as_deref(),
        Some("GET")
    );
    assert!(
        matches!(
            attribute(&listed_span.attributes, "status"),
            Some(any_value::Value::IntValue(200))
        ),
        "{listed_span:?}"
    );
    let (_, charge_span) = request_span(&charge.request_id);
    let batch = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| {
            s.name == "charge_batch"
                && string(&s.attributes, "request_ids")
                    .is_some_and(|ids| ids.split(',').any(|id| id == charge.request_id))
        })
        .unwrap_or_else(|| panic!("the charge's batch among {spans:#?}"));
    assert!(
        batch.links.iter().any(|l| l.span_id == charge_span.span_id),
        "the batch links to the charge's request span: {batch:?}"
    );
    // The periodic workers' passes (their first runs at start).
    assert!(
        spans.iter().any(|(_, s)| s.name == "worker_pass"
            && string(&s.attributes, "worker").as_deref() == Some("settlement:test")),
        "a settlement pass among {spans:#?}"
    );
}

/// A collector that refuses connections, and one that accepts and never answers: requests
/// stay fast (export runs on its own thread, from a bounded queue), the failure is logged
/// once, and shutdown waits for the last export only so long.
#[test]
fn a_collector_that_is_down_costs_requests_nothing_and_is_logged_once() {
    // Refuses: a port that was free a moment ago.
    let refused = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Never answers: accepts and holds every connection.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hole.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    for (port, stop_within) in [(refused, 20), (hole_port, 25)] {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let server = start(
            dir.path(),
            &[
                ("AGORA_OTLP_ENDPOINT", endpoint.as_str()),
                ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ],
        );
        let mut slowest = Duration::ZERO;
        for _ in 0..30 {
            let started = Instant::now();
            let answer = call(server.port, &server.key, "GET", "/v1/accounts", None);
            assert_eq!(answer.status, 200);
            slowest = slowest.max(started.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            slowest < Duration::from_millis(1_000),
            "a request took {slowest:?} with the collector at {endpoint} down"
        );
        let lines = stop(server, Duration::from_secs(stop_within));
        let warned = lines
            .iter()
            .filter(|l| l.contains("cannot export spans to the OpenTelemetry collector"))
            .count();
        if port == refused {
            // Failed exports every 100 ms for 2.5 s: one line.
            assert_eq!(warned, 1, "{lines:#?}");
        } else {
            // The first export waits out its 5-s timeout (it may still be waiting at stop).
            assert!(warned <= 1, "{lines:#?}");
        }
    }
}
