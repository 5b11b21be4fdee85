//! Rows that once broke the output: execsnoop's empty and blank argument
//! lists (the ARGS cell trimmed the line before its own start and the
//! padding panicked), and tcpretrans' enum `type` shown with a table of
//! names (refused as "cannot be shown as Names"). Each test causes the
//! event itself and checks the decoded row.

mod common;

use common::tool::{ToolRun, rows};
use common::{Run, VethPair, serial};
use serde_json::Value;
use std::ffi::CString;
use std::path::Path;
use std::process::Command;

/// The name of the copy of /bin/true that execsnoop must show with a blank
/// argument list: it is exec'd by this relative name.
const BLANK: &str = "   ";

/// Forks a child that, in `dir`, calls execve with an empty argv on `""`
/// (ENOENT), on a bad filename pointer (EFAULT), on a name of spaces that
/// does not exist (ENOENT), and finally on `BLANK`, which succeeds. Returns
/// the child's pid once it has exited.
fn exec_with_blank_names(dir: &Path) -> u32 {
    let dir = CString::new(dir.as_os_str().as_encoded_bytes()).expect("no NUL in the path");
    let names = [c"", c" \t "].map(|n| n.as_ptr());
    let blank = CString::new(BLANK).expect("no NUL");
    let empty: [*const libc::c_char; 2] = [std::ptr::null(), std::ptr::null()];
    // SAFETY: the child only calls async-signal-safe functions (chdir,
    // execve, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        unsafe {
            if libc::chdir(dir.as_ptr()) != 0 {
                libc::_exit(126);
            }
            libc::execve(names[0], empty.as_ptr(), empty.as_ptr());
            // Address 1, which no process maps: the kernel answers EFAULT.
            libc::execve(
                std::ptr::dangling::<libc::c_char>(),
                empty.as_ptr(),
                empty.as_ptr(),
            );
            libc::execve(names[1], empty.as_ptr(), empty.as_ptr());
            libc::execve(blank.as_ptr(), empty.as_ptr(), empty.as_ptr());
            libc::_exit(127);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the blank-named /bin/true ran: status {status:#x}"
    );
    pid as u32
}

/// A directory holding a copy of /bin/true named `BLANK`.
fn blank_true() -> bpfkit_testkit::TempDir {
    let dir = bpfkit_testkit::TempDir::under(Path::new(env!("CARGO_TARGET_TMPDIR")), "blank-exec");
    std::fs::copy("/bin/true", dir.file(BLANK)).expect("copying /bin/true");
    dir
}

/// execsnoop's rows of `pid` as (RET, ARGS words); PCOMM (the first 17
/// columns) is skipped, since a blank-named program has a blank comm.
fn exec_rows(stdout: &str, pid: u32) -> Vec<(String, Vec<String>)> {
    rows(stdout, "PCOMM");
    stdout
        .lines()
        .filter_map(|l| l.get(17..))
        .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
        .filter(|words| words.first() == Some(&pid.to_string().as_str()))
        .map(|words| {
            let ret = words.get(2).map(|s| s.to_string()).unwrap_or_default();
            (ret, words.iter().skip(3).map(|s| s.to_string()).collect())
        })
        .collect()
}

#[test]
fn execsnoop_shows_execs_with_empty_and_blank_arguments() {
    if !bpfkit_testkit::privileged("execsnoop_shows_execs_with_empty_and_blank_arguments") {
        return;
    }
    let _serial = serial();
    let dir = blank_true();
    for failed in [false, true] {
        let args: &[&str] = if failed { &["-x"] } else { &[] };
        let run = ToolRun::start("execsnoop", args);
        let pid = exec_with_blank_names(dir.path());
        let out = run.stop();
        let mut shown = exec_rows(&out.stdout, pid);
        // " \t " shows as its tab escaped (`\x09`, as every control
        // character in a table), or as no argument when the page holding
        // the name was not resident for the BPF side to read: both are the
        // blank row this test is about.
        for (_, words) in &mut shown {
            words.retain(|w| w != "\\x09");
        }
        let blank = (String::from("0"), Vec::new());
        let expected = if failed {
            // "" and " \t " are blank arguments, the bad pointer reads as
            // no argument at all; each row still has its RET column.
            vec![
                ("-2".into(), Vec::new()),
                ("-14".into(), Vec::new()),
                ("-2".into(), Vec::new()),
                blank,
            ]
        } else {
            vec![blank]
        };
        assert_eq!(shown, expected, "execsnoop {args:?}:\n{}", out.stdout);
    }
}

/// An address on `b`'s side of the pair that nobody answers ARP for: a SYN
/// to it is retransmitted after the initial RTO (1 s).
const SILENT: &str = "169.254.78.9";

/// Connects from `pair`'s namespace `b` to `SILENT`:`port` and gives up
/// after about 3 s, long enough for one or two SYN retransmits.
fn connect_to_silent(pair: &VethPair, port: u16) {
    common::ip(&format!(
        "-n {} route add {SILENT}/32 dev {}",
        pair.ns_b, pair.dev_b
    ));
    let connect = format!("exec 3<>/dev/tcp/{SILENT}/{port}");
    let status = Command::new("ip")
        .args(["netns", "exec", &pair.ns_b, "timeout", "3", "bash", "-c"])
        .arg(&connect)
        .status()
        .expect("running the connect");
    assert!(!status.success(), "nobody accepts at {SILENT}");
}

/// A port for this test's connect, unlikely to be another test's.
fn test_port() -> u16 {
    40_000 + (std::process::id() % 20_000) as u16
}

#[test]
fn tcpretrans_shows_a_syn_retransmit_in_its_table() {
    if !bpfkit_testkit::privileged("tcpretrans_shows_a_syn_retransmit_in_its_table") {
        return;
    }
    let _serial = serial();
    let pair = VethPair::create();
    let port = test_port();
    let run = ToolRun::start("tcpretrans", &[]);
    connect_to_silent(&pair, port);
    let out = run.stop();
    // TIME PID IP LADDR LPORT T> RADDR RPORT STATE
    let rows = rows(&out.stdout, "TIME");
    let row = rows
        .iter()
        .find(|r| r.get(6) == Some(&SILENT) && r.get(7) == Some(&port.to_string().as_str()))
        .unwrap_or_else(|| panic!("no retransmit to {SILENT}:{port}:\n{}", out.stdout));
    assert_eq!(row[2], "4", "{row:?}");
    assert_eq!(row[3], "169.254.77.2", "{row:?}");
    assert_eq!(row[5], "R>", "the type enum by the spec's names: {row:?}");
    assert_eq!(row[8], "SYN_SENT", "{row:?}");
}

#[test]
fn tcpretrans_json_shows_a_syn_retransmit() {
    if !bpfkit_testkit::privileged("tcpretrans_json_shows_a_syn_retransmit") {
        return;
    }
    let pair = VethPair::create();
    let port = test_port() + 1;
    let mut run = Run::start_tool_attached("tcpretrans", &[]);
    connect_to_silent(&pair, port);
    let event = run.wait_for("the retransmit", |r: &Value| {
        r["type"] == "event" && r["data"]["daddr"] == SILENT && r["data"]["dport"] == port
    });
    run.stop();
    let data = &event["data"];
    assert_eq!(data["saddr"], "169.254.77.2", "{event}");
    assert_eq!(
        data["type"], "RETRANSMIT",
        "the enum by its BTF name: {event}"
    );
    assert_eq!(data["af"], 2, "AF_INET: {event}");
    assert_eq!(data["state"], 2, "TCP_SYN_SENT: {event}");
}
