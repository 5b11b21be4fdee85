//! `bpfkit serve`: a user object the test drives (execs per comm, a sleep
//! histogram) and built-in tools, through `--once` and through a real
//! Prometheus server scraping it, whose PromQL answers must be the counts
//! the test caused.

mod common;

use bpfkit_testkit::{peer_tool, privileged};
use common::{BOUND, BPFKIT, ChildGuard, Held, TempDir, assert_released, serial};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The test object, built into `dir` under the name serve derives its
/// metric names from (`serve_counts`).
fn counts_object(test: &str, dir: &TempDir) -> Option<PathBuf> {
    let source = bpfkit_testkit::repo_path("crates/cli/tests/bpf/serve_counts.bpf.c");
    let built = bpfkit_testkit::build_bpf_object(test, &source, dir.path())?;
    let object = dir.file("serve_counts.bpf.o");
    std::fs::rename(&built, &object).expect("renaming the test object");
    Some(object)
}

/// A copy of `binary` named for this test (its comm), at most 15 bytes.
fn named_copy(dir: &TempDir, binary: &str) -> (PathBuf, String) {
    // Fixed width: no name is a part of another (execsnoop -n matches parts).
    let name = format!(
        "bks{:05}_{:03}",
        std::process::id() % 100_000,
        bpfkit_testkit::unique_number() % 1000
    );
    let path = dir.file(&name);
    std::fs::copy(binary, &path).expect("copying a test binary");
    (path, name)
}

fn run_n(path: &Path, args: &[&str], n: usize) {
    for _ in 0..n {
        let status = ChildGuard::spawn(Command::new(path).args(args)).wait();
        assert!(status.success(), "{} failed", path.display());
    }
}

/// A running `bpfkit serve`, ready once it said so on stderr.
struct Serve {
    child: ChildGuard,
    held: Held,
    stderr: Receiver<String>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = ChildGuard::spawn(
            Command::new(BPFKIT)
                .arg("serve")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let (tx, stderr) = channel();
        let pipe = child.0.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match stderr.recv_timeout(left) {
                Ok(line) if line == "bpfkit: ready" || line.starts_with("bpfkit: serving") => break,
                Ok(line) => eprintln!("serve: {line}"),
                Err(e) => panic!("bpfkit serve did not get ready: {e}"),
            }
        }
        let held = Held::of_process(child.pid());
        assert!(!held.progs.is_empty(), "serve holds no program");
        Serve {
            child,
            held,
            stderr,
        }
    }

    /// Stops serve with `signal`; what it printed on stdout. Checks that it
    /// exited successfully and left nothing in the kernel.
    fn stop(mut self, signal: i32) -> String {
        // SAFETY: kill has no memory preconditions; the child is unreaped.
        unsafe { libc::kill(self.child.pid() as i32, signal) };
        let output = self.child.wait_with_output();
        let stderr: Vec<String> = self.stderr.try_iter().collect();
        assert!(output.status.success(), "serve failed: {stderr:?}");
        assert_released(&self.held);
        String::from_utf8(output.stdout).expect("utf-8 exposition")
    }
}

/// The sample lines (and family lines) about `names`, in order.
fn lines_about(text: &str, names: &[&str]) -> String {
    text.lines()
        .filter(|l| names.iter().any(|n| l.contains(&format!("\"{n}\""))))
        .filter(|l| !l.contains("_sum{"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn once_prints_the_execs_and_sleeps_the_test_caused() {
    let test = "once_prints_the_execs_and_sleeps_the_test_caused";
    if !privileged(test) {
        return;
    }
    let dir = TempDir::new("serve-once");
    let Some(object) = counts_object(test, &dir) else {
        return;
    };
    let _turn = serial();
    let (execed, a) = named_copy(&dir, "/bin/true");
    let (sleeper, b) = named_copy(&dir, "/bin/sleep");
    let serve = Serve::start(&["--once", "-d", "60s", object.to_str().expect("utf-8 path")]);
    run_n(&execed, &[], 3);
    run_n(&sleeper, &["0.01"], 2);
    let text = serve.stop(libc::SIGINT);
    // A 10 ms sleep lands in the 8.192-16.383 ms bucket or later, never
    // before: the buckets up to 8.191 ms hold nothing.
    let empty_buckets: String = [
        "0.000001", "0.000003", "0.000007", "0.000015", "0.000031", "0.000063", "0.000127",
        "0.000255", "0.000511", "0.001023", "0.002047", "0.004095", "0.008191",
    ]
    .iter()
    .map(|le| format!("bpfkit_serve_counts_sleep_seconds_bucket{{comm=\"{b}\",le=\"{le}\"}} 0\n"))
    .collect();
    let golden = format!(
        "bpfkit_serve_counts_execs_total{{comm=\"{a}\"}} 3\n\
         bpfkit_serve_counts_execs_total{{comm=\"{b}\"}} 2\n\
         {empty_buckets}"
    );
    let about = lines_about(&text, &[&a, &b]);
    let (head, tail) = about.split_at(golden.len().min(about.len()));
    assert_eq!(head, golden, "in:\n{text}");
    assert!(
        tail.ends_with(&format!(
            "bpfkit_serve_counts_sleep_seconds_bucket{{comm=\"{b}\",le=\"+Inf\"}} 2\n\
             bpfkit_serve_counts_sleep_seconds_count{{comm=\"{b}\"}} 2\n"
        )),
        "in:\n{text}"
    );
    for family in [
        "# HELP bpfkit_serve_counts_execs value of map 'execs' of serve_counts\n\
         # TYPE bpfkit_serve_counts_execs counter\n",
        "# TYPE bpfkit_serve_counts_sleep_seconds histogram\n",
        "# TYPE bpfkit_program_runs counter\n",
    ] {
        assert!(text.contains(family), "no {family:?} in:\n{text}");
    }
    // The scratch map of start times is no metric.
    assert!(!text.contains("sleep_start"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn max_series_from_a_config_adds_the_rest_up_under_other() {
    let test = "max_series_from_a_config_adds_the_rest_up_under_other";
    if !privileged(test) {
        return;
    }
    let dir = TempDir::new("serve-cap");
    let Some(object) = counts_object(test, &dir) else {
        return;
    };
    let _turn = serial();
    // Given in a config file, which also gives the cap.
    let config = dir.write(
        "serve.toml",
        &format!(
            "max_series = 3  # per map\n[[target]]\nrun = \"{}\"\nargs = []\n",
            object.display()
        ),
    );
    let config = config.to_str().expect("utf-8 path");
    let serve = Serve::start(&["--once", "-d", "60s", "--config", config]);
    for _ in 0..6 {
        let (binary, _) = named_copy(&dir, "/bin/true");
        run_n(&binary, &[], 1);
    }
    let text = serve.stop(libc::SIGTERM);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("bpfkit_serve_counts_execs_total{"))
        .collect();
    assert_eq!(series.len(), 3, "{text}");
    assert!(
        series[2].starts_with("bpfkit_serve_counts_execs_total{comm=\"other\"} "),
        "{text}"
    );
    let other_entries: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("bpfkit_map_other_entries{target=\"serve_counts\",map=\"execs\"} ")
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of other entries in:\n{text}"));
    // Six comms of the test's own, two series kept: at least four added up.
    assert!(other_entries >= 4, "{text}");
}

#[test]
fn event_tools_count_only_the_events_their_filter_shows() {
    let test = "event_tools_count_only_the_events_their_filter_shows";
    if !privileged(test) {
        return;
    }
    let dir = TempDir::new("serve-filter");
    let _turn = serial();
    let (shown, a) = named_copy(&dir, "/bin/true");
    let (hidden, _) = named_copy(&dir, "/bin/true");
    let serve = Serve::start(&["--once", "-d", "60s", "execsnoop", "-n", &a]);
    run_n(&shown, &[], 3);
    run_n(&hidden, &[], 2);
    let text = serve.stop(libc::SIGINT);
    // `execsnoop -n A` shows the three execs of A, and serve counts those.
    assert!(
        text.contains("bpfkit_events_total{target=\"execsnoop\",map=\"events\"} 3\n"),
        "{text}"
    );
}

/// A free loopback port (free when asked; the servers bind it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET path` on 127.0.0.1:port: the headers and the body.
fn http_get(port: u16, path: &str, extra_headers: &str) -> std::io::Result<(String, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(BOUND))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{extra_headers}Connection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    Ok((head, response[split + 4..].to_vec()))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of a PromQL query answered with one sample, if it has one.
fn query(port: u16, promql: &str) -> Option<f64> {
    let path = format!("/api/v1/query?query={}", percent_encode(promql));
    let (_, body) = http_get(port, &path, "").ok()?;
    let answer: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let result = answer["data"]["result"].as_array()?;
    (result.len() == 1)
        .then(|| result[0]["value"][1].as_str()?.parse().ok())
        .flatten()
}

/// Waits until `promql` answers `want`; the last answer when it never does.
fn wait_for_query(port: u16, promql: &str, want: f64) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = query(port, promql);
        if last == Some(want) {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    last
}

#[test]
fn prometheus_scrapes_a_tool_and_an_object() {
    let test = "prometheus_scrapes_a_tool_and_an_object";
    if !privileged(test) {
        return;
    }
    let (Some(prometheus), Some(promtool)) =
        (peer_tool(test, "prometheus"), peer_tool(test, "promtool"))
    else {
        return;
    };
    let dir = TempDir::new("serve-prometheus");
    let Some(object) = counts_object(test, &dir) else {
        return;
    };
    let _turn = serial();
    let (serve_port, prometheus_port) = (free_port(), free_port());
    let listen = format!("127.0.0.1:{serve_port}");
    let path = object.to_str().expect("utf-8 path");
    let serve = Serve::start(&["--listen", &listen, "syscount", "-P", ",", path]);
    let config = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: bpfkit\n    static_configs:\n      - targets: ['{listen}']\n"
        ),
    );
    let _prometheus = ChildGuard::spawn(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.file("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let (execed, a) = named_copy(&dir, "/bin/true");
    let (sleeper, b) = named_copy(&dir, "/bin/sleep");
    run_n(&execed, &[], 3);
    run_n(&sleeper, &["0.01"], 2);

    let execs = format!("bpfkit_serve_counts_execs_total{{comm=\"{a}\"}}");
    assert_eq!(
        wait_for_query(prometheus_port, &execs, 3.0),
        Some(3.0),
        "{execs}"
    );
    let sleeps = format!("bpfkit_serve_counts_sleep_seconds_count{{comm=\"{b}\"}}");
    assert_eq!(
        wait_for_query(prometheus_port, &sleeps, 2.0),
        Some(2.0),
        "{sleeps}"
    );
    // syscount -P counts by process: three processes ran as `a`.
    let processes = format!("count(bpfkit_syscount_count_total{{comm=\"{a}\"}})");
    assert_eq!(
        wait_for_query(prometheus_port, &processes, 3.0),
        Some(3.0),
        "{processes}"
    );
    let up = "up{job=\"bpfkit\"}";
    assert_eq!(wait_for_query(prometheus_port, up, 1.0), Some(1.0), "{up}");

    // The exposition a plain scraper gets passes promtool's checks.
    let (head, body) = http_get(serve_port, "/metrics", "").expect("GET /metrics");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("feeding promtool");
    let checked = check.wait_with_output().expect("promtool");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // gzip when asked, and a health check.
    let (head, gz) = http_get(serve_port, "/metrics", "Accept-Encoding: gzip\r\n").expect("GET gz");
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    assert!(
        text.contains("# TYPE bpfkit_syscount_count_total counter"),
        "{text}"
    );
    let (head, body) = http_get(serve_port, "/healthz", "").expect("GET /healthz");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert_eq!(body, b"ok\n");
    serve.stop(libc::SIGTERM);
}
