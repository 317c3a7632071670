//! The daemon against hostile browsers and clients: DNS rebinding with a token configured,
//! many large bodies at once, hundreds of idle or slow sockets, oversized request heads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bachata_common_tests::Sandbox;

const TOKEN: &str = "a-long-enough-token-0123";

/// A daemon started by the test itself (its process id is needed), killed when dropped.
struct Running {
    child: Child,
    address: String,
}

impl Running {
    fn start(sandbox: &Sandbox) -> Self {
        let mut child = sandbox
            .command(&["run"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("daemon did not start: {line:?}"))
            .to_string();
        Self { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        stream
    }

    /// The peak resident memory of the daemon so far, in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .expect("VmHWM")
            * 1024
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox(token: Option<&str>) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.env("BACHATA_LISTEN", "127.0.0.1:0");
    if let Some(token) = token {
        sandbox.env("BACHATA_API_TOKEN", token);
    }
    sandbox
}

/// Sends a raw request and reads the answer's status line and head.
fn raw(daemon: &Running, request: &[u8]) -> String {
    let mut stream = daemon.connect();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn with_a_token_a_rebound_host_name_reads_nothing_without_it() {
    let sandbox = sandbox(Some(TOKEN));
    let daemon = Running::start(&sandbox);
    let client = reqwest::blocking::Client::new();
    let get = |path: &str, host: &str, token: Option<&str>, origin: Option<&str>| {
        let mut request = client.get(daemon.url(path)).header("host", host);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send().expect("get").status().as_u16()
    };
    // A page whose own name now resolves to the daemon reads nothing.
    for path in [
        "/report",
        "/v1/report",
        "/v1/experiments",
        "/v1/metrics/performance",
        "/v1/resources",
        "/metrics",
    ] {
        assert_eq!(
            get(path, "rebind.evil.example:9464", None, None),
            401,
            "{path}"
        );
        assert_eq!(
            get(path, "rebind.evil.example", Some("guess"), None),
            401,
            "{path}"
        );
    }
    // The daemon's own names and addresses read as before; a name with the token too.
    for host in [
        "127.0.0.1",
        "localhost:9464",
        "10.1.2.3:9464",
        "[fe80::1]:9464",
    ] {
        assert_eq!(get("/v1/experiments", host, None, None), 200, "{host}");
    }
    assert_eq!(
        get("/v1/experiments", "daemon.internal:9464", Some(TOKEN), None),
        200
    );
    // A cross-site page is refused even with a token configured (and given).
    assert_eq!(
        get(
            "/v1/experiments",
            "127.0.0.1",
            Some(TOKEN),
            Some("http://evil.example")
        ),
        403
    );
    let own = format!("http://{}", daemon.address);
    assert_eq!(
        get("/v1/experiments", &daemon.address, None, Some(&own)),
        200
    );
}

#[test]
fn bodies_in_flight_share_a_budget_and_the_excess_is_told_to_retry() {
    let sandbox = sandbox(None);
    let daemon = Running::start(&sandbox);
    let four_mib = 4 << 20;
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {four_mib}\r\n\r\n["
    );
    // Sixteen 4 MiB bodies arriving slowly hold the whole 64 MiB budget.
    let holders: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut stream = daemon.connect();
            stream.write_all(head.as_bytes()).expect("write");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let answer = raw(
        &daemon,
        head.replace("\r\n\r\n[", "\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Once they are gone, a body is read again.
    drop(holders);
    std::thread::sleep(Duration::from_millis(300));
    let response = reqwest::blocking::Client::new()
        .post(daemon.url("/v1/decisions"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .expect("post");
    assert_eq!(response.status(), 400, "read and judged: an empty batch");
}

#[test]
fn a_hundred_concurrent_4_mib_bodies_stay_within_the_memory_budget() {
    let sandbox = sandbox(None);
    let daemon = Running::start(&sandbox);
    let before = daemon.peak_rss();
    // Whitespace then a letter: read whole, refused as JSON at once.
    let mut body = vec![b' '; (4 << 20) - 1];
    body.push(b'x');
    let body = Arc::new(body);
    let address = daemon.address.clone();
    let clients: Vec<_> = (0..100)
        .map(|_| {
            let body = Arc::clone(&body);
            let address = address.clone();
            std::thread::spawn(move || -> Option<u16> {
                let mut stream = TcpStream::connect(&address).ok()?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .ok()?;
                let head = format!(
                    "POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \
                     application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).ok()?;
                // Refused early, the server may close before it all went.
                let _ = stream.write_all(&body);
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
                let answer = String::from_utf8_lossy(&answer);
                answer.get(9..12).and_then(|status| status.parse().ok())
            })
        })
        .collect();
    let statuses: Vec<Option<u16>> = clients
        .into_iter()
        .map(|client| client.join().expect("client"))
        .collect();
    let peak = daemon.peak_rss();
    assert!(
        statuses
            .iter()
            .flatten()
            .all(|status| [400, 503].contains(status)),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&Some(400)),
        "some were read: {statuses:?}"
    );
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 300 << 20,
        "the daemon grew by {} MiB (peak {} MiB)",
        grown >> 20,
        peak >> 20
    );
}

#[test]
fn hundreds_of_idle_or_slow_sockets_do_not_delay_others() {
    let sandbox = sandbox(None);
    let daemon = Running::start(&sandbox);
    let mut held = Vec::new();
    for index in 0..600 {
        let mut stream = daemon.connect();
        if index % 2 == 1 {
            // A request head that never ends.
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .expect("write");
        }
        held.push(stream);
    }
    std::thread::sleep(Duration::from_millis(300));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    for _ in 0..3 {
        let started = Instant::now();
        let health = client.get(daemon.url("/healthz")).send().expect("healthz");
        let took = started.elapsed();
        assert_eq!(health.status(), 200);
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    }
    drop(held);
}

#[test]
fn an_oversized_request_head_is_refused_and_the_daemon_goes_on() {
    let sandbox = sandbox(None);
    let daemon = Running::start(&sandbox);
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    for index in 0..2_000 {
        request.extend_from_slice(format!("X-Filler-{index}: {}\r\n", "y".repeat(60)).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let answer = raw(&daemon, &request);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    let health = reqwest::blocking::get(daemon.url("/healthz")).expect("healthz");
    assert_eq!(health.status(), 200);
}
