//! Every built-in tool, in its default mode and with each flag its spec
//! documents, on events this test causes. Generated from the tool specs
//! (`bpfkit_tools::all()`): a new tool or flag is covered without a new
//! test, and a tool without a workload below fails the test with "add a
//! workload for TOOL".
//!
//! Per tool, one workload: it is set up (a signal target, a loop device, a
//! listener...), then every mode of the tool is started side by side, the
//! workload causes its events once, and every run is stopped with SIGINT.
//! Each run must exit 0, print no panic, leave nothing in the kernel
//! (`ToolRun`) and show the facts of the events the workload caused (its
//! pid, path, port, command...). Flag values come from the flag's `Parse`
//! kind and the workload: its pid for `-p`, its command for name filters,
//! 1 for intervals. Durations and counts get values long enough that SIGINT
//! ends the run (their own ending is tested by the tools' own tests).
//!
//! A mode the kernel cannot run (a flag that selects kprobe/fentry-only
//! variants where neither exists, or a tool `bpfkit tools` lists as not
//! working here) must fail with one clear line instead.
//!
//! Every `BOUND` only keeps a broken run from hanging the suite; nothing
//! asserts on how long anything takes.

mod common;

use bpfkit_tools::{Effect, Flag, Parse, Runtime, ToolSpec, Value};
use common::tool::{Gated, ToolOutput, ToolRun};
use common::workloads::{
    BUSY_COMM, BusyThreads, FileOps, LOCK_COMM, LoopDevice, SignalTarget, listen_with_backlog,
    lower_nice_as_nobody, queue_with_errno, resolve_localhost, run_ok, send_signal, tcp_exchange,
};
use common::{BPFKIT, ChildGuard, TempDir, serial};
use std::any::Any;
use std::io::Write;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

/// Why this machine cannot run a flag (`None`: it can).
type Lacking = fn() -> Option<String>;

/// Flags not run where this machine lacks what they need: (tool or `*`,
/// flag, what is lacking).
const SKIPPED: &[(&str, &str, Lacking)] = &[
    ("*", "cgroup", no_cgroup2),
    ("hardirqs", "cpu", interrupt_cpu_unknown),
    ("softirqs", "cpu", interrupt_cpu_unknown),
];

/// The CPU an interrupt lands on is the kernel's choice, not known before
/// the run; tools.rs (`hardirqs -C -s`) and tools_part1.rs (`softirqs -c`)
/// check the CPU filters on the CPUs they see.
fn interrupt_cpu_unknown() -> Option<String> {
    Some("the CPU the workload's interrupts land on is not known in advance".into())
}

/// Why cgroup filters cannot run: the test's cgroup v2 (the value of
/// `--cgroup`; every workload process is in it too) is not mounted.
fn no_cgroup2() -> Option<String> {
    match own_cgroup2() {
        Some(_) => None,
        None => Some("no cgroup v2 hierarchy is mounted (cgroup filters need one)".into()),
    }
}

/// This process's cgroup v2 directory: the cgroup2 mount point joined with
/// the `0::PATH` line of /proc/self/cgroup.
fn own_cgroup2() -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        (after.split_whitespace().next() == Some("cgroup2"))
            .then(|| before.split_whitespace().nth(4).map(str::to_string))?
    })?;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(format!("{mount}{path}"))
}

/// Sets a workload up; `None` (with a printed reason) where this machine
/// cannot cause its events.
type Setup = fn() -> Option<Workload>;

/// Workloads, one per tool.
const WORKLOADS: &[(&str, Setup)] = &[
    ("execsnoop", execs),
    ("exitsnoop", exit_code),
    ("opensnoop", missing_file),
    ("statsnoop", missing_file),
    ("mountsnoop", tmpfs_mount),
    ("sigsnoop", signals),
    ("killsnoop", signals),
    ("bashreadline", typed_line),
    ("syscount", failed_opens),
    ("runqlat", busy_threads),
    ("runqlen", busy_threads),
    ("runqslower", busy_threads),
    ("hardirqs", disk_reads),
    ("softirqs", loopback_tcp),
    ("biolatency", disk_reads),
    ("biopattern", disk_reads),
    ("biosnoop", disk_reads),
    ("oomkill", oom_kill),
    ("tcpconnect", loopback_tcp),
    ("tcpconnlat", loopback_tcp),
    ("tcplife", loopback_tcp),
    ("tcpstates", loopback_tcp),
    ("tcpretrans", syn_retransmits),
    ("tcprtt", loopback_tcp),
    ("profile", busy_threads),
    ("offcputime", sleepy_threads),
    ("memleak", kernel_allocations),
    ("xdpfilter", udp_over_veth),
    ("tcpktstat", udp_over_veth),
    ("bindsnoop", bind_and_listen),
    ("capable", denied_capability),
    ("gethostlatency", resolver_calls),
    ("solisten", bind_and_listen),
    ("tcpaccept", loopback_tcp),
    ("tcpdrop", refused_connections),
    ("tcpsynbl", unaccepted_connections),
    ("tcptop", loopback_tcp),
    ("tcptracer", loopback_tcp),
    // Storage, file systems and scheduler (issue 14), alphabetical.
    ("biostacks", disk_reads),
    ("biotop", disk_reads),
    ("bitesize", disk_reads_by_dd),
    ("btrfsdist", fs_ops_btrfs),
    ("btrfsslower", fs_ops_btrfs),
    ("cachestat", page_cache),
    ("cpudist", busy_threads),
    ("drsnoop", memcg_reclaim),
    ("ext4dist", fs_ops_ext4),
    ("ext4slower", fs_ops_ext4),
    ("fsdist", fs_ops_any),
    ("filetop", file_reads),
    ("filelife", short_lived_file),
    ("readahead", uncached_read),
    ("fsslower", fs_ops_any),
    ("klockstat", contended_mutex),
    ("offwaketime", sleepy_threads),
    ("pidpersec", forks),
    ("syncsnoop", sync_calls),
    ("threadsnoop", new_thread),
    ("vfsstat", file_activity),
    ("wakeuptime", sleepy_threads),
    ("wqlat", syncs),
    ("xfsdist", fs_ops_xfs),
    ("xfsslower", fs_ops_xfs),
];

/// What a workload does and what the runs must show of it.
struct Workload {
    facts: Facts,
    /// Causes the events, once every run is attached.
    cause: Box<dyn FnMut()>,
    /// What a run with these flags (long names) must print.
    shows: Box<dyn Fn(&Mode) -> Expect>,
    /// Arguments every run needs (the interface of XDP and tc tools).
    base_args: Vec<String>,
    /// Arguments added to each flag's run of a tool, unless the flag's own
    /// arguments have one of them: what makes the events show there
    /// (xdpfilter's rule for `-n`, runqslower's threshold).
    with_flags: Vec<(&'static str, Vec<String>)>,
    /// How many runs go side by side (0: all): one for XDP (one program
    /// per interface), a few for tools that print much at exit.
    at_once: usize,
    /// Torn down at the end (loop devices, namespaces, children).
    _keep: Vec<Box<dyn Any>>,
}

/// Values for flags, from the workload.
#[derive(Default, Clone)]
struct Facts {
    /// The process that causes the events, and one of its threads.
    pid: u32,
    tid: u32,
    /// Its command.
    comm: String,
    /// Text the events carry (execsnoop's arguments).
    text: String,
    port: u16,
    disk: String,
    iface: String,
    /// A binary (uprobe tools' `-s`/`-O`).
    binary: String,
    signal: &'static str,
    /// An address the events come from (`xdpfilter -s`, `tcprtt -a`).
    addr: String,
    /// The file system the events happen on (`fsslower -t`).
    fs: String,
}

/// Texts a run must and must not print.
#[derive(Default)]
struct Expect {
    present: Vec<String>,
    absent: Vec<String>,
    /// At least one of these, when there are any.
    any: Vec<String>,
}

impl Expect {
    fn all(texts: &[&str]) -> Expect {
        Expect {
            present: texts.iter().map(|t| t.to_string()).collect(),
            absent: Vec::new(),
            any: Vec::new(),
        }
    }

    fn none_of(texts: &[&str]) -> Expect {
        Expect {
            present: Vec::new(),
            absent: texts.iter().map(|t| t.to_string()).collect(),
            any: Vec::new(),
        }
    }
}

/// One run of a tool: the flag tested (none: the default mode) and the
/// arguments.
struct Mode {
    tool: &'static str,
    flag: Option<&'static str>,
    args: Vec<String>,
}

impl Mode {
    fn has(&self, long: &str) -> bool {
        self.flag == Some(long)
    }
}

fn me() -> u32 {
    std::process::id()
}

/// The calling thread's command (what the kernel reports as its comm).
fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .expect("reading our comm")
        .trim()
        .to_string()
}

/// A marker no other test run uses, short enough to be a whole comm.
fn marker(tag: &str) -> String {
    format!("bk{tag}{}", me() % 100_000)
}

#[test]
fn every_tool_in_every_mode_shows_the_events_it_is_given() {
    if !bpfkit_testkit::privileged("every_tool_in_every_mode_shows_the_events_it_is_given") {
        return;
    }
    let _serial = serial();
    let listing = tools_listing();
    let mut failures = Vec::new();
    // BPFKIT_TOOLS=a,b checks only those tools (while working on them).
    let only = std::env::var("BPFKIT_TOOLS").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|t| t == name))
    };
    for spec in bpfkit_tools::all().iter().filter(|s| wanted(s.name)) {
        let Some((_, setup)) = WORKLOADS.iter().find(|(name, _)| *name == spec.name) else {
            failures.push(format!("add a workload for {}", spec.name));
            continue;
        };
        let result = catch_unwind(AssertUnwindSafe(|| check_tool(spec, *setup, &listing)));
        match result {
            Ok(tool_failures) => failures.extend(tool_failures),
            Err(panic) => failures.push(format!("{}: {}", spec.name, panic_text(&panic))),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// `bpfkit tools`: one line per tool, `[not here: WHY]` for those the
/// kernel cannot run.
fn tools_listing() -> String {
    let out = Command::new(BPFKIT)
        .arg("tools")
        .output()
        .expect("bpfkit tools");
    assert!(out.status.success(), "bpfkit tools failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn panic_text(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// Runs every mode of one tool on its workload; the failures.
fn check_tool(spec: &'static ToolSpec, setup: Setup, listing: &str) -> Vec<String> {
    let not_here = listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(spec.name))
        .and_then(|l| l.split_once("[not here: "))
        .map(|(_, why)| why.trim_end_matches(']').to_string());
    if let Some(why) = not_here {
        println!("{}: not here ({why}): checking that it says so", spec.name);
        return fails_with_one_line(spec.name, &[], &why)
            .into_iter()
            .collect();
    }
    let Some(mut workload) = setup() else {
        return Vec::new();
    };
    let mut failures = Vec::new();
    let mut modes = vec![Mode {
        tool: spec.name,
        flag: None,
        args: workload.base_args.clone(),
    }];
    for flag in spec.flags {
        if let Some(why) = SKIPPED
            .iter()
            .find(|(tool, long, _)| (*tool == "*" || *tool == spec.name) && *long == flag.long)
            .and_then(|(_, _, lacking)| lacking())
        {
            println!("{} --{}: skipped: {why}", spec.name, flag.long);
            continue;
        }
        let args = match flag_args(spec, flag, &workload) {
            Ok(args)
                if args
                    .iter()
                    .any(|a| workload.base_args.starts_with(std::slice::from_ref(a))) =>
            {
                println!(
                    "{} --{}: given to every run (the workload needs it)",
                    spec.name, flag.long
                );
                continue;
            }
            Ok(args) => args,
            Err(e) => {
                failures.push(format!("{} --{}: {e}", spec.name, flag.long));
                continue;
            }
        };
        if lists_and_exits(flag) {
            failures.extend(list_mode(spec.name, &args));
        } else if let Some(why) = needs_missing_hooks(spec, flag) {
            failures.extend(fails_with_one_line(spec.name, &args, &why));
        } else {
            let with = workload
                .with_flags
                .iter()
                .find(|(tool, with)| *tool == spec.name && !with.iter().any(|w| args.contains(w)))
                .map(|(_, with)| with.clone())
                .unwrap_or_default();
            modes.push(Mode {
                tool: spec.name,
                flag: Some(flag.long),
                args: [workload.base_args.clone(), args, with].concat(),
            });
        }
    }
    let at_once = match workload.at_once {
        0 => modes.len(),
        n => n,
    };
    for batch in modes.chunks(at_once) {
        failures.extend(run_batch(spec.name, batch, &mut workload));
    }
    failures
}

/// Starts every mode of the batch side by side, causes the workload's
/// events, stops them all and checks what each printed.
fn run_batch(tool: &'static str, batch: &[Mode], workload: &mut Workload) -> Vec<String> {
    let started: Vec<Result<ToolRun, String>> = thread::scope(|s| {
        let handles: Vec<_> = batch
            .iter()
            .map(|mode| {
                s.spawn(move || {
                    let args: Vec<&str> = mode.args.iter().map(String::as_str).collect();
                    catch_unwind(|| ToolRun::start(tool, &args)).map_err(|p| panic_text(&p))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| Err(panic_text(&p))))
            .collect()
    });
    (workload.cause)();
    let outputs: Vec<Result<ToolOutput, String>> = thread::scope(|s| {
        let handles: Vec<_> = started
            .into_iter()
            .map(|run| {
                s.spawn(move || {
                    let run = run?;
                    catch_unwind(AssertUnwindSafe(|| run.stop())).map_err(|p| panic_text(&p))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| Err(panic_text(&p))))
            .collect()
    });
    let mut failures = Vec::new();
    for (mode, output) in batch.iter().zip(outputs) {
        let shown = format!("bpfkit {tool} {}", mode.args.join(" "));
        let out = match output {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let expect = (workload.shows)(mode);
        let missing: Vec<_> = expect
            .present
            .iter()
            .filter(|t| !out.stdout.contains(t.as_str()))
            .collect();
        let unwanted: Vec<_> = expect
            .absent
            .iter()
            .filter(|t| out.stdout.contains(t.as_str()))
            .collect();
        let none_of_any =
            !expect.any.is_empty() && !expect.any.iter().any(|t| out.stdout.contains(t.as_str()));
        if !missing.is_empty() || !unwanted.is_empty() || none_of_any {
            failures.push(format!(
                "{shown}: missing {missing:?}, unwanted {unwanted:?}, none of {:?} in:\n{}",
                if none_of_any { &expect.any[..] } else { &[] },
                tail(&out.stdout)
            ));
        } else {
            println!("{shown}: ok");
        }
    }
    failures
}

/// The end of a long output, for failure messages.
fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// The arguments that give `flag`: the flag and its value, and for a
/// positional the positionals before it.
fn flag_args(spec: &ToolSpec, flag: &Flag, workload: &Workload) -> Result<Vec<String>, String> {
    let option = match flag.short {
        Some(c) => format!("-{c}"),
        None => format!("--{}", flag.long),
    };
    let mut args = Vec::new();
    match flag.value {
        Value::Switch => args.push(option),
        Value::Named(_, parse) => {
            args.push(option);
            args.push(value(spec, flag, parse, &workload.facts)?);
        }
        Value::Positional(..) => {
            for f in spec.flags {
                if let Value::Positional(_, parse) = f.value {
                    args.push(value(spec, f, parse, &workload.facts)?);
                }
                if f.long == flag.long {
                    break;
                }
            }
        }
    }
    // memleak's -O names the library, and -S the prefix of the allocator
    // symbols, of the process -p traces.
    let uprobe_target = [Runtime::UprobeBinary, Runtime::UprobeSymbolPrefix];
    if uprobe_target
        .iter()
        .any(|r| flag.effects.contains(&Effect::Runtime(*r)))
        && spec.flag("pid").is_some()
    {
        args.extend(["-p".into(), workload.facts.pid.to_string()]);
    }
    Ok(args)
}

/// A value for `flag` that keeps the workload's events in view.
fn value(spec: &ToolSpec, flag: &Flag, parse: Parse, facts: &Facts) -> Result<String, String> {
    let runtime = |r: Runtime| flag.effects.contains(&Effect::Runtime(r));
    let list = flag
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ParamList(_)));
    let unknown = || {
        Err(format!(
            "no value for {} --{} ({parse:?}): add one to value() in all_tools.rs",
            spec.name, flag.long
        ))
    };
    Ok(match parse {
        Parse::Int if runtime(Runtime::Interval) => "1".into(),
        // Long enough for SIGINT to end the run.
        Parse::Int if runtime(Runtime::Count) || runtime(Runtime::Duration) => "100".into(),
        Parse::Int if runtime(Runtime::Top) => "20".into(),
        Parse::Int if runtime(Runtime::SampleFrequency) => "99".into(),
        Parse::Int
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::OlderThan(_)))) =>
        {
            "1".into()
        }
        // profile's -p/-L lists: the workload's process or thread.
        Parse::Int if list && flag.long == "pid" => facts.pid.to_string(),
        Parse::Int if list && flag.long == "tid" => facts.tid.to_string(),
        Parse::Int if list => facts.port.to_string(),
        Parse::Int => match flag.long {
            "pid" => facts.pid.to_string(),
            "tid" => facts.tid.to_string(),
            // SAFETY: getuid has no preconditions.
            "uid" => unsafe { libc::getuid() }.to_string(),
            "lport" | "rport" | "port" => facts.port.to_string(),
            "min_us" | "min-block-time" | "min-size" | "sample-rate" | "max-args" => "1".into(),
            // Milliseconds (biosnoop): the loop device's reads take less.
            "min" => "0".into(),
            "max-block-time" | "max-size" => "100000000".into(),
            // TASK_INTERRUPTIBLE: sleeping in nanosleep or read.
            "state" => "1".into(),
            // profile -C: the busy threads run on every CPU, CPU 0 too.
            "cpu" => "0".into(),
            _ => return unknown(),
        },
        Parse::Text if runtime(Runtime::Contains("comm")) => facts.comm.clone(),
        Parse::Text
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::Contains(_)))) =>
        {
            facts.text.clone()
        }
        Parse::Text if runtime(Runtime::Interface) => facts.iface.clone(),
        // libc's own names: a prefix of its allocator's is not exported.
        Parse::Text if runtime(Runtime::UprobeSymbolPrefix) => String::new(),
        // A command that is still running at SIGINT (and then stopped).
        Parse::Text
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::Command { .. }))) =>
        {
            "sleep 1000".into()
        }
        Parse::Text if flag.long == "comm" => facts.comm.clone(),
        Parse::Text
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::PrefixRules { .. }))) =>
        {
            facts.addr.clone()
        }
        Parse::Text
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::PortRules(_)))) =>
        {
            format!("udp:{}", facts.port)
        }
        Parse::Path
            if flag
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Runtime(Runtime::CgroupMap(_)))) =>
        {
            own_cgroup2().ok_or("no cgroup v2")?
        }
        Parse::Path if runtime(Runtime::FlameGraph) => {
            let dir = std::env::temp_dir();
            dir.join(format!("{}-{}.svg", marker("fg"), spec.name))
                .to_string_lossy()
                .into_owned()
        }
        Parse::Path if runtime(Runtime::UprobeBinary) || flag.long == "shared" => {
            facts.binary.clone()
        }
        Parse::Errno => "ENOENT".into(),
        Parse::Signal => facts.signal.into(),
        Parse::Disk => facts.disk.clone(),
        Parse::FileSystem => facts.fs.clone(),
        Parse::Ipv4 => facts.addr.clone(),
        _ => return unknown(),
    })
}

/// Flags that print something and exit without tracing (syscount -l).
fn lists_and_exits(flag: &Flag) -> bool {
    flag.effects
        .contains(&Effect::Runtime(Runtime::ListSyscalls))
}

fn list_mode(tool: &str, args: &[String]) -> Option<String> {
    let out = Command::new(BPFKIT)
        .arg(tool)
        .args(args)
        .output()
        .expect("running bpfkit");
    let stdout = String::from_utf8_lossy(&out.stdout);
    (!out.status.success() || !stdout.lines().any(|l| l.trim() == "openat"))
        .then(|| format!("bpfkit {tool} {}: {}\n{stdout}", args.join(" "), out.status))
}

/// Why `flag` cannot run here: it selects variants whose hooks the kernel
/// lacks (kprobes, fentry).
fn needs_missing_hooks(spec: &ToolSpec, flag: &Flag) -> Option<String> {
    let selected: Vec<_> = spec
        .variants
        .iter()
        .filter(|v| v.only_with == Some(flag.long))
        .collect();
    let kernel = bpfkit_runtime::features::kernel();
    let works = |label: &str| match label {
        "kprobe" => kernel.kprobes,
        "fentry" => bpfkit_runtime::features::trampolines(),
        _ => true,
    };
    (!selected.is_empty() && !selected.iter().any(|v| works(v.label)))
        .then(|| "cannot run on this kernel".to_string())
}

/// Runs `bpfkit TOOL ARGS`, which must fail with one line of stderr
/// containing `wanted`.
fn fails_with_one_line(tool: &str, args: &[String], wanted: &str) -> Option<String> {
    let mut child = ChildGuard::spawn(
        Command::new(BPFKIT)
            .arg(tool)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let out = child.wait_with_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = format!("bpfkit {tool} {}", args.join(" "));
    if out.status.success() || stderr.lines().count() != 1 || !stderr.contains(wanted) {
        return Some(format!(
            "{shown}: expected one line with '{wanted}' and a failure, got {}:\n{stderr}",
            out.status
        ));
    }
    println!("{shown}: fails as it must: {}", stderr.trim());
    None
}

// ------------------------------------------------------------------ workloads

fn workload(
    facts: Facts,
    cause: impl FnMut() + 'static,
    shows: impl Fn(&Mode) -> Expect + 'static,
) -> Workload {
    Workload {
        facts,
        cause: Box::new(cause),
        shows: Box::new(shows),
        base_args: Vec::new(),
        with_flags: Vec::new(),
        at_once: 0,
        _keep: Vec::new(),
    }
}

/// A successful exec of a symlink to /bin/true named after a marker (its
/// comm), with the marker as argument, and a failed exec of a missing path
/// containing it (execsnoop -x).
fn execs() -> Option<Workload> {
    let mark = marker("x");
    let dir = TempDir::new("execs");
    let link = dir.path().join(&mark);
    std::os::unix::fs::symlink("/bin/true", &link).expect("symlinking /bin/true");
    let missing = dir.path().join(format!("missing-{mark}"));
    let facts = Facts {
        pid: me(),
        comm: mark.clone(),
        text: mark.clone(),
        ..Facts::default()
    };
    let shown = mark.clone();
    let mut w = workload(
        facts,
        move || {
            run_ok(Command::new(&link).arg(&mark));
            assert!(Command::new(&missing).arg(&mark).status().is_err());
        },
        move |_| Expect::all(&[&shown]),
    );
    w._keep.push(Box::new(dir));
    Some(w)
}

/// A shell that exits with code 3 once told to (its pid is known before).
fn exit_code() -> Option<Workload> {
    let mut gated = Some(Gated::new("exit 3"));
    let pid = gated.as_ref().map_or(0, Gated::pid);
    let facts = Facts {
        pid,
        tid: pid,
        comm: "sh".into(),
        ..Facts::default()
    };
    Some(workload(
        facts,
        move || {
            let status = gated.take().expect("caused once").go();
            assert_eq!(status.code(), Some(3));
        },
        move |_| Expect::all(&[&pid.to_string()]),
    ))
}

/// A shell that opens (`: <PATH`) and stats (`test -e PATH`) a missing
/// path, with its builtins: the events come from its own pid.
fn missing_file() -> Option<Workload> {
    let path = format!("/nonexistent/{}", marker("f"));
    // The open last: a failed redirection ends a non-interactive sh.
    let mut gated = Some(Gated::new(&format!("test -e {path}; : <{path}")));
    let pid = gated.as_ref().map_or(0, Gated::pid);
    let facts = Facts {
        pid,
        tid: pid,
        comm: "sh".into(),
        ..Facts::default()
    };
    Some(workload(
        facts,
        move || {
            gated.take().expect("caused once").go();
        },
        move |_| Expect::all(&[&path]),
    ))
}

/// A tmpfs mount whose source is a marker, by a shell that execs mount
/// (so the mount comes from the pid known before), unmounted at the end.
fn tmpfs_mount() -> Option<Workload> {
    let mark = marker("m");
    let dir = TempDir::new("mnt");
    let target = dir.path().to_string_lossy().into_owned();
    let mut gated = Some(Gated::new(&format!("exec mount -t tmpfs {mark} {target}")));
    let pid = gated.as_ref().map_or(0, Gated::pid);
    let facts = Facts {
        pid,
        tid: pid,
        comm: "mount".into(),
        ..Facts::default()
    };
    let shown = mark.clone();
    let mut w = workload(
        facts,
        move || {
            let status = gated.take().expect("caused once").go();
            assert!(status.success(), "mount: {status}");
        },
        move |_| Expect::all(&[&shown]),
    );
    w._keep.push(Box::new(Unmount(target)));
    w._keep.push(Box::new(dir));
    Some(w)
}

/// Unmounts its path on drop (before the directory is removed).
struct Unmount(String);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// From this process: SIGWINCH to a sleeper by kill(), again queued with
/// si_errno 42, and a kill() of a pid that is gone (ESRCH). Failed-only
/// modes show the errno'd signal (sigsnoop) or the failed kill.
fn signals() -> Option<Workload> {
    let target = SignalTarget::new();
    let tpid = target.pid();
    let gone = {
        let mut child = ChildGuard::spawn(&mut Command::new("true"));
        child.wait();
        child.pid() as i32
    };
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        signal: "WINCH",
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        move || {
            send_signal(tpid, libc::SIGWINCH);
            queue_with_errno(tpid, libc::SIGWINCH, 42);
            // SAFETY: kill(2) has no memory preconditions.
            assert_eq!(unsafe { libc::kill(gone, libc::SIGWINCH) }, -1);
        },
        move |mode| {
            // killsnoop -x: the failed kill; sigsnoop -x (signal_generate):
            // the signal with an errno.
            if mode.tool == "killsnoop" && mode.has("failed") {
                Expect::all(&[&gone.to_string()])
            } else {
                Expect::all(&[&tpid.to_string()])
            }
        },
    );
    w._keep.push(Box::new(target));
    Some(w)
}

/// A line typed into an interactive bash (script(1) gives it a pty). An
/// empty line first: the readline() bash was already in when the tool
/// attached returns without its uretprobe.
fn typed_line() -> Option<Workload> {
    let line = format!("echo {}", marker("r"));
    let mut bash = ChildGuard::spawn(
        Command::new("script")
            .args(["-qec", "/bin/bash --norc --noprofile -i", "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let mut stdin = bash.0.stdin.take().expect("piped stdin");
    let facts = Facts {
        binary: "/bin/bash".into(),
        ..Facts::default()
    };
    let shown = line.clone();
    Some(workload(
        facts,
        move || {
            write!(stdin, "\n{line}\nexit\n").expect("typing into bash");
            bash.wait();
        },
        move |_| Expect::all(&[&shown]),
    ))
}

/// Opens of a missing path from this process: openat failing with ENOENT.
fn failed_opens() -> Option<Workload> {
    let path = format!("/nonexistent/{}", marker("s"));
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let pid = me().to_string();
    Some(workload(
        facts,
        move || {
            for _ in 0..50 {
                assert!(std::fs::File::open(&path).is_err());
            }
        },
        move |mode| match mode.flag {
            Some("process") => Expect::all(&[&pid]),
            // The top ten by time: those of other processes may win.
            Some("latency") => Expect::all(&["TIME (usecs)"]),
            _ => Expect::all(&["openat"]),
        },
    ))
}

/// Threads named `bkbusy` spinning (one more than CPUs: run queues fill),
/// for half a second, with system calls so that they have kernel stacks too.
fn busy_threads() -> Option<Workload> {
    let facts = Facts {
        pid: me(),
        comm: BUSY_COMM.into(),
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        || {
            let busy = BusyThreads::start();
            thread::sleep(Duration::from_millis(500));
            drop(busy);
        },
        |mode| match (mode.tool, mode.flag) {
            ("runqlen", Some("cpus")) => Expect::all(&["cpu = 0"]),
            ("runqlen", _) => Expect::all(&["runqlen"]),
            ("runqlat", Some("pids")) => Expect::all(&[&format!("pid = {}", me())]),
            ("runqlat", Some("tids")) => Expect::all(&["tid = "]),
            ("runqlat", Some("pidnss")) => Expect::all(&["pidns = "]),
            ("runqlat", Some("milliseconds")) => Expect::all(&["msecs", "*"]),
            ("runqlat", _) => Expect::all(&["usecs", "*"]),
            ("cpudist", Some("pids")) => Expect::all(&[&format!("pid = {}", me())]),
            ("cpudist", Some("tids")) => Expect::all(&["tid = ", BUSY_COMM]),
            ("cpudist", Some("milliseconds")) => Expect::all(&["msecs", "*"]),
            ("cpudist", _) => Expect::all(&["usecs", "*"]),
            // Waits of 1 us or more; the default threshold (10 ms) is more
            // than these threads may wait.
            ("runqslower", Some("min_us")) => Expect::all(&[BUSY_COMM]),
            // -t: the test's main thread, which is not busy.
            ("runqslower", Some("tid")) => Expect::none_of(&[BUSY_COMM]),
            ("runqslower", Some(_)) => Expect::all(&[BUSY_COMM]),
            ("runqslower", None) => Expect::default(),
            // -L: the test's main thread, which is not busy.
            ("profile", Some("tid")) => Expect::none_of(&[BUSY_COMM]),
            _ => Expect::all(&[BUSY_COMM]),
        },
    );
    w.facts.tid = me();
    // runqslower: a threshold the busy threads' waits pass (the default,
    // 10 ms, they may not reach).
    w.with_flags = vec![("runqslower", vec!["1".into()])];
    Some(w)
}

/// Direct reads of a loop device of our own, by dd.
fn disk_reads() -> Option<Workload> {
    let disk = LoopDevice::create();
    let name = disk.name().to_string();
    let facts = Facts {
        disk: name.clone(),
        ..Facts::default()
    };
    // The loop device's reads may be served from the page cache: a synced
    // direct write to the disk under this test's scratch files interrupts.
    let scratch = TempDir::new("irq");
    let fired = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = fired.clone();
    let w = workload(
        facts,
        move || {
            let before = interrupt_counts();
            disk.direct_reads(16);
            run_ok(Command::new("dd").args([
                "if=/dev/zero",
                &format!("of={}", scratch.path().join("w").display()),
                "bs=64k",
                "count=16",
                "oflag=direct,sync",
                "status=none",
            ]));
            let after = interrupt_counts();
            *seen.lock().unwrap_or_else(|e| e.into_inner()) = after
                .into_iter()
                .filter(|(irq, n)| before.iter().any(|(b, m)| b == irq && m < n))
                .map(|(irq, _)| irq)
                .collect();
        },
        move |mode| match (mode.tool, mode.flag) {
            ("biolatency", Some("disks")) => Expect::all(&[&format!("disk = {name}")]),
            ("biolatency", Some("flag")) => Expect::all(&["flags = ", "*"]),
            ("biolatency", _) => Expect::all(&["*"]),
            // Stacks name the process that read, not the disk.
            ("biostacks", _) => Expect::all(&["dd"]),
            // An interrupt that fired while the workload ran (the one
            // device names /proc/interrupts gives), by its name.
            ("hardirqs", _) => Expect {
                any: fired.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                ..Expect::default()
            },
            _ => Expect::all(&[&name]),
        },
    );
    Some(w)
}

/// Per device interrupt of /proc/interrupts: its name (the last column,
/// what hardirqs shows) and its count over all CPUs.
fn interrupt_counts() -> Vec<(String, u64)> {
    let text = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Only numbered lines name a device; NMI, LOC... are no irq events.
            fields.first()?.trim_end_matches(':').parse::<u32>().ok()?;
            let count = fields[1..]
                .iter()
                .map_while(|f| f.parse::<u64>().ok())
                .sum();
            Some((fields.last()?.to_string(), count))
        })
        .collect()
}

/// An OOM kill in a memory cgroup (v1) of our own limited to 32 MiB:
/// `tail` keeps the one endless line of /dev/zero in memory.
fn oom_kill() -> Option<Workload> {
    let root = std::path::Path::new("/sys/fs/cgroup/memory");
    if !root.join("memory.limit_in_bytes").exists() {
        println!("oomkill: skipped: no cgroup v1 memory controller at {root:?}");
        return None;
    }
    let cgroup = ScratchCgroup(root.join(marker("oom")));
    std::fs::create_dir(&cgroup.0).expect("creating a memory cgroup");
    std::fs::write(cgroup.0.join("memory.limit_in_bytes"), "33554432").expect("limiting it");
    let procs = cgroup.0.join("cgroup.procs").to_string_lossy().into_owned();
    let mut gated = Some(Gated::new(&format!(
        "echo $$ >{procs} && exec tail /dev/zero"
    )));
    let pid = gated.as_ref().map_or(0, Gated::pid);
    let mut w = workload(
        Facts {
            pid,
            ..Facts::default()
        },
        move || {
            let status = gated.take().expect("caused once").go();
            assert!(!status.success(), "tail was not killed: {status}");
        },
        move |_| Expect::all(&[&pid.to_string()]),
    );
    w._keep.push(Box::new(cgroup));
    Some(w)
}

/// A cgroup directory removed on drop (once its processes are gone).
struct ScratchCgroup(std::path::PathBuf);

impl Drop for ScratchCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// TCP over loopback from this process: a connection to a listener of our
/// own with some bytes echoed (RTT samples), closed by both ends; the
/// same over IPv6 where lo has it.
fn loopback_tcp() -> Option<Workload> {
    let v4 = TcpListener::bind("127.0.0.1:0").expect("listening on 127.0.0.1");
    let port = v4.local_addr().expect("address").port();
    let v6 = TcpListener::bind("[::1]:0").ok();
    let port6 = v6
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port());
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        port,
        addr: "127.0.0.1".into(),
        ..Facts::default()
    };
    Some(workload(
        facts,
        move || {
            tcp_exchange(&v4);
            if let Some(v6) = &v6 {
                tcp_exchange(v6);
            }
        },
        move |mode| {
            let (v4, v6) = (port.to_string(), port6.map(|p| p.to_string()));
            match (mode.tool, mode.flag) {
                ("softirqs", _) => return Expect::all(&["net_rx"]),
                ("tcprtt", Some("byladdr")) => return Expect::all(&["Local Address = 127.0.0.1"]),
                ("tcprtt", Some("byraddr")) => {
                    return Expect::all(&["Remote Address = 127.0.0.1"]);
                }
                ("tcprtt", Some("extension")) => return Expect::all(&["AVG = ", "*"]),
                ("tcprtt", _) => return Expect::all(&["*"]),
                _ => {}
            }
            match mode.flag {
                Some("ipv6") => match &v6 {
                    Some(v6) => Expect {
                        present: vec![v6.clone()],
                        absent: vec!["127.0.0.1".into()],
                        any: Vec::new(),
                    },
                    None => Expect::none_of(&["127.0.0.1"]),
                },
                _ => Expect::all(&[&v4]),
            }
        },
    ))
}

/// A TCP listener bound to a known loopback port (chosen at setup) with
/// a backlog of 5, and a second bind to that port while it listens, which
/// fails with EADDRINUSE (bindsnoop -x shows it, as RET -98).
fn bind_and_listen() -> Option<Workload> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        port,
        ..Facts::default()
    };
    Some(workload(
        facts,
        move || {
            let listener = listen_with_backlog(port, 5);
            assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
            drop(listener);
        },
        move |mode| {
            let port = port.to_string();
            match (mode.tool, mode.flag) {
                ("bindsnoop", Some("failed")) => Expect::all(&[&port, "-98", "...R."]),
                ("bindsnoop", _) => Expect {
                    present: vec![port, "127.0.0.1".into(), "TCP".into()],
                    absent: vec!["-98".into()],
                    any: Vec::new(),
                },
                _ => Expect::all(&[&port, "127.0.0.1", "TCPv4", " 5 "]),
            }
        },
    ))
}

/// Connections to a closed loopback port, over IPv4 and IPv6: the kernel
/// drops each SYN for want of a socket (SKB_DROP_REASON_NO_SOCKET).
fn refused_connections() -> Option<Workload> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        port,
        ..Facts::default()
    };
    let v6 = TcpListener::bind("[::1]:0").is_ok();
    Some(workload(
        facts,
        move || {
            assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
            if v6 {
                assert!(TcpStream::connect(("::1", port)).is_err());
            }
        },
        move |mode| {
            let port = port.to_string();
            let reason = "SKB_DROP_REASON_NO_SOCKET";
            match mode.flag {
                Some("ipv6") if v6 => Expect {
                    present: vec![port, reason.into(), "::1".into()],
                    absent: vec!["127.0.0.1".into()],
                    any: Vec::new(),
                },
                Some("ipv6") => Expect::none_of(&["127.0.0.1"]),
                Some("ipv4") => Expect {
                    present: vec![port, reason.into(), "127.0.0.1".into()],
                    absent: vec!["::1".into()],
                    any: Vec::new(),
                },
                _ => Expect::all(&[&port, reason, "127.0.0.1"]),
            }
        },
    ))
}

/// Three connections to a listener with a backlog of 7 that accepts none
/// of them until they are all established (tcpsynbl: `backlog_max = 7`).
fn unaccepted_connections() -> Option<Workload> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        port,
        ..Facts::default()
    };
    Some(workload(
        facts,
        move || {
            let listener = listen_with_backlog(port, 7);
            let clients: Vec<_> = (0..3)
                .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connecting"))
                .collect();
            drop((clients, listener));
        },
        move |mode| match mode.flag {
            Some("ipv6") => Expect::none_of(&["backlog_max = 7"]),
            _ => Expect::all(&["backlog_max = 7", "backlog"]),
        },
    ))
}

/// getaddrinfo("localhost") from this process, with libc's own resolver
/// (/etc/hosts): gethostlatency shows the name.
fn resolver_calls() -> Option<Workload> {
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        binary: libc_path(),
        ..Facts::default()
    };
    Some(workload(facts, resolve_localhost, |_| {
        Expect::all(&["localhost"])
    }))
}

/// A thread of this process named `bkcapck` that gives up root (setresuid
/// to nobody, for itself only: the raw syscall, not libc's process-wide
/// one) and then asks for a lower nice value: cap_capable(CAP_SYS_NICE)
/// denied, uid 65534.
fn denied_capability() -> Option<Workload> {
    let comm = "bkcapck";
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: comm.into(),
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        move || {
            thread::Builder::new()
                .name(comm.into())
                .spawn(lower_nice_as_nobody)
                .expect("spawning the unprivileged thread")
                .join()
                .expect("the unprivileged thread");
        },
        move |_| Expect::all(&[comm, "65534", "CAP_SYS_NICE", "deny"]),
    );
    // Only this process: with -U every check of the other modes' bpfkit
    // processes (CAP_BPF, CAP_PERFMON per load) carries a user stack to
    // symbolize, and under that flood the perf buffer lost ours ("lost 121
    // events" in CI).
    w.base_args = vec!["-p".into(), me().to_string()];
    Some(w)
}

/// Threads named `bksleep` blocked reading a pipe (TASK_INTERRUPTIBLE,
/// offcputime's `--state 1`) that gets a byte every 10 ms: off-CPU time
/// with a known stack.
fn sleepy_threads() -> Option<Workload> {
    let comm = "bksleep";
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: comm.into(),
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        move || {
            let (sleepers, mut writers): (Vec<_>, Vec<_>) = (0..2)
                .map(|_| {
                    let (mut reader, writer) = std::io::pipe().expect("a pipe");
                    let sleeper = thread::Builder::new()
                        .name(comm.into())
                        .spawn(move || {
                            let mut byte = [0u8];
                            while std::io::Read::read(&mut reader, &mut byte).is_ok_and(|n| n > 0) {
                            }
                        })
                        .expect("spawning a sleeper");
                    (sleeper, writer)
                })
                .unzip();
            for _ in 0..20 {
                thread::sleep(Duration::from_millis(10));
                for w in &mut writers {
                    w.write_all(b"x").expect("waking a sleeper");
                }
            }
            drop(writers);
            for s in sleepers {
                let _ = s.join();
            }
        },
        move |mode| match mode.flag {
            // Our threads are user threads.
            Some("kernel-threads-only") => Expect::none_of(&[comm]),
            // -t is this test's main thread, which does not sleep here.
            Some("tid") => Expect::none_of(&[comm]),
            _ => Expect::all(&[comm]),
        },
    );
    // Only this process: the stacks of a whole busy system (parallel
    // builds) filled the 10240-entry `info` map before ours came, and the
    // run said so ("map 'info' is full").
    w.base_args = vec!["-p".into(), me().to_string()];
    Some(w)
}

/// Kernel allocations (a struct file per open) by a thread of ours named
/// after a marker, kept until the end.
fn kernel_allocations() -> Option<Workload> {
    let mark = marker("k");
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: mark.clone(),
        binary: libc_path(),
        ..Facts::default()
    };
    let files = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = files.clone();
    let name = mark.clone();
    let mut w = workload(
        facts,
        move || {
            let opened = thread::Builder::new()
                .name(name.clone())
                .spawn(|| {
                    (0..200)
                        .filter_map(|_| std::fs::File::open("/proc/self/stat").ok())
                        .collect::<Vec<_>>()
                })
                .expect("spawning the allocating thread")
                .join()
                .expect("the allocating thread");
            kept.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(opened);
        },
        move |mode| {
            if mode.has("command") {
                // The allocations libc's start-up in `sleep` keeps.
                Expect::all(&["-  sleep ("])
            } else if mode.args.iter().any(|a| a == "-p") {
                // User allocations of this process (libc's malloc): stacks
                // of its own.
                Expect::all(&[&format!("({})", me())])
            } else if mode.has("show-allocs") {
                Expect::all(&[&me().to_string()])
            } else {
                Expect::all(&[&mark])
            }
        },
    );
    // Each run prints every kernel stack at exit: a few at a time.
    w.at_once = 3;
    w._keep.push(Box::new(files));
    Some(w)
}

/// The C library this test runs with (memleak -O).
fn libc_path() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.contains("/libc.so") || p.contains("/libc-"))
        .unwrap_or("/lib/x86_64-linux-gnu/libc.so.6")
        .to_string()
}

/// SYNs nobody answers (sent to a MAC address nobody has): TCP retransmits
/// the SYN after its initial timeout (1 s).
fn syn_retransmits() -> Option<Workload> {
    let net = HostVeth::create();
    let port: u16 = 40000 + (me() % 20000) as u16;
    let facts = Facts {
        port,
        ..Facts::default()
    };
    let silent = net.silent_addr();
    let mut w = workload(
        facts,
        move || {
            let addr = format!("{silent}:{port}").parse().expect("address");
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(2500));
        },
        move |mode| match mode.flag {
            Some("ipv6") => Expect::none_of(&[&port.to_string()]),
            _ => Expect::all(&[&port.to_string()]),
        },
    );
    w._keep.push(Box::new(net));
    Some(w)
}

/// UDP datagrams from a network namespace to our end of a veth pair in
/// this one: XDP and tc programs on that end see them come in.
fn udp_over_veth() -> Option<Workload> {
    let net = HostVeth::create();
    let port: u16 = 40000 + (me() % 20000) as u16;
    let facts = Facts {
        port,
        iface: net.host_dev.clone(),
        addr: net.peer_addr(),
        ..Facts::default()
    };
    let receiver = UdpSocket::bind((net.host_addr(), port)).expect("binding the receiver");
    let peer = net.peer_addr();
    let mut w = workload(
        facts.clone(),
        {
            let net_send = net.sender();
            move || {
                for _ in 0..5 {
                    net_send(port);
                }
            }
        },
        move |mode| match (mode.tool, mode.flag) {
            // Every flag's run has the port rule (with_flags); a source
            // rule comes first and counts what it matches.
            ("xdpfilter", Some("drop-src")) => Expect::all(&[&peer]),
            ("xdpfilter", Some(_)) => Expect::all(&[&port.to_string()]),
            // No rule given: nothing is counted.
            ("xdpfilter", _) => Expect::default(),
            ("tcpktstat", Some("by-proto")) => Expect::all(&["udp"]),
            _ => Expect::all(&[&peer]),
        },
    );
    w.with_flags = vec![("xdpfilter", vec!["-P".into(), format!("udp:{port}")])];
    w.base_args = vec!["-i".into(), facts.iface];
    w.at_once = 1;
    w._keep.push(Box::new(receiver));
    w._keep.push(Box::new(net));
    Some(w)
}

/// A veth pair: `host_dev` here (10.Q.R.1/30), its peer in a namespace of
/// its own (.2); both gone on drop.
struct HostVeth {
    netns: String,
    host_dev: String,
    subnet: String,
}

impl HostVeth {
    fn create() -> HostVeth {
        let n = bpfkit_testkit::unique_number();
        let tag = format!("{}x{}", me() % 100_000, n % 1000);
        let subnet = format!(
            "10.{}.{}",
            200 + me() % 50,
            (me() / 50 + n as u32 * 7) % 250
        );
        let net = HostVeth {
            netns: common::unique("veth"),
            host_dev: format!("bk{tag}h"),
            subnet,
        };
        let peer_dev = format!("bk{tag}p");
        common::ip(&format!("netns add {}", net.netns));
        common::ip(&format!(
            "link add {} type veth peer name {peer_dev} netns {}",
            net.host_dev, net.netns
        ));
        common::ip(&format!(
            "addr add {} dev {}",
            net.host_addr_cidr(),
            net.host_dev
        ));
        common::ip(&format!("link set {} up", net.host_dev));
        common::ip(&format!(
            "-n {} addr add {}.2/30 dev {peer_dev}",
            net.netns, net.subnet
        ));
        common::ip(&format!("-n {} link set {peer_dev} up", net.netns));
        common::ip(&format!("-n {} link set lo up", net.netns));
        net
    }

    fn host_addr(&self) -> std::net::Ipv4Addr {
        format!("{}.1", self.subnet).parse().expect("address")
    }

    fn host_addr_cidr(&self) -> String {
        format!("{}.1/30", self.subnet)
    }

    fn peer_addr(&self) -> String {
        format!("{}.2", self.subnet)
    }

    /// The peer's address, but reached through a made-up MAC address that
    /// no interface has: SYNs leave at once (nothing waits on ARP, which
    /// would hold back the retransmission) and get no answer.
    fn silent_addr(&self) -> String {
        let peer = self.peer_addr();
        common::ip(&format!(
            "neigh replace {peer} lladdr 02:00:5e:00:53:01 dev {} nud permanent",
            self.host_dev
        ));
        peer
    }

    /// Sends one UDP datagram from the peer's namespace to PORT here.
    fn sender(&self) -> impl Fn(u16) + 'static {
        let (netns, to) = (self.netns.clone(), self.host_addr());
        move |port| {
            let datagram = format!("echo bpfkit >/dev/udp/{to}/{port}");
            common::output("ip", &["netns", "exec", &netns, "bash", "-c", &datagram]);
        }
    }
}

impl Drop for HostVeth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_dev])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

/// This process writes, fsyncs and reads a marker-named file on `fs` (any
/// file system on a block device: `None`). The *slower tools see it with
/// `-m 0` (the default threshold, 10 ms, is more than these operations
/// may take); the *dist tools show an fsync histogram.
fn fs_ops(fs: Option<&str>) -> Option<Workload> {
    let ops = FileOps::new(&marker("fs"));
    let Some(here) = ops.fs() else {
        println!("fs tools: the scratch directory is on no block file system the test knows");
        return None;
    };
    if fs.is_some_and(|fs| fs != here) {
        println!(
            "{}: skipped: the scratch directory is on {here}",
            fs.unwrap_or("")
        );
        return None;
    }
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        fs: here.to_string(),
        ..Facts::default()
    };
    let name = ops.name.clone();
    let mut w = workload(
        facts,
        move || ops.run(),
        move |mode| match (mode.tool.ends_with("dist"), mode.flag) {
            (true, Some("milliseconds")) => Expect::all(&["operation = fsync", "msecs"]),
            (true, _) => Expect::all(&["operation = fsync", "usecs"]),
            (false, None) => Expect::default(),
            (false, Some(_)) => Expect::all(&[&name]),
        },
    );
    w.with_flags = ["fsslower", "ext4slower", "xfsslower", "btrfsslower"]
        .into_iter()
        .map(|tool| (tool, vec!["-m".to_string(), "0".to_string()]))
        .collect();
    Some(w)
}

fn fs_ops_any() -> Option<Workload> {
    fs_ops(None)
}

fn fs_ops_ext4() -> Option<Workload> {
    fs_ops(Some("ext4"))
}

fn fs_ops_xfs() -> Option<Workload> {
    fs_ops(Some("xfs"))
}

fn fs_ops_btrfs() -> Option<Workload> {
    fs_ops(Some("btrfs"))
}

/// A file written, dropped from the page cache and read twice: misses,
/// hits and dirtied pages (the numbers are checked in tools3_fs.rs).
fn page_cache() -> Option<Workload> {
    let ops = FileOps::new(&marker("pc"));
    Some(workload(
        Facts::default(),
        move || ops.cache_misses_then_hits(256),
        |_| Expect::all(&["HITS", "MISSES", "DIRTIES"]),
    ))
}

/// [`disk_reads`], with `dd` (which reads) as the command.
fn disk_reads_by_dd() -> Option<Workload> {
    let mut w = disk_reads()?;
    w.facts.comm = "dd".into();
    w.shows = Box::new(|_| Expect::all(&["Process Name = dd", "Kbytes", "*"]));
    Some(w)
}

/// This process forks (runs /bin/true) a few times.
fn forks() -> Option<Workload> {
    Some(workload(
        Facts::default(),
        || {
            for _ in 0..5 {
                run_ok(&mut Command::new("/bin/true"));
            }
        },
        // The counts are checked in tools3_sched.rs.
        |_| Expect::all(&["PIDs/interval"]),
    ))
}

/// This process calls sync(2), syncfs(2) and fsync(2).
fn sync_calls() -> Option<Workload> {
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let dir = TempDir::new("sync");
    let pid = me().to_string();
    Some(workload(
        facts,
        move || {
            let file = std::fs::File::create(dir.path().join("f")).expect("creating");
            // SAFETY: plain system calls on our own open fd.
            unsafe {
                libc::sync();
                libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&file));
            }
            file.sync_all().expect("fsync");
        },
        move |_| Expect::all(&[&pid, "syncfs", "fsync"]),
    ))
}

/// This process starts a thread; its tid is shown.
fn new_thread() -> Option<Workload> {
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let tid = std::sync::Arc::new(std::sync::Mutex::new(0));
    let seen = tid.clone();
    let pid = me().to_string();
    Some(workload(
        facts,
        move || {
            let tid = tid.clone();
            // SAFETY: gettid has no preconditions.
            thread::spawn(move || {
                *tid.lock().unwrap_or_else(|e| e.into_inner()) = unsafe { libc::gettid() }
            })
            .join()
            .expect("the thread");
        },
        move |_| {
            let tid = *seen.lock().unwrap_or_else(|e| e.into_inner());
            Expect::all(&[&pid, &tid.to_string()])
        },
    ))
}

/// [`fs_ops`]'s file written, synced and read: reads, writes, an fsync, opens
/// and a create (the counts are checked in tools3_fs.rs).
fn file_activity() -> Option<Workload> {
    let ops = FileOps::new(&marker("vfs"));
    Some(workload(
        Facts::default(),
        move || ops.run(),
        |_| Expect::all(&["READ", "WRITE", "FSYNC", "OPEN", "CREATE"]),
    ))
}

/// sync(2): the writeback work it queues goes through a workqueue.
fn syncs() -> Option<Workload> {
    Some(workload(
        Facts::default(),
        || {
            for _ in 0..3 {
                // SAFETY: sync has no preconditions.
                unsafe { libc::sync() };
            }
        },
        |mode| match mode.flag {
            Some("workqueues") => Expect::all(&["wqname = ", "*"]),
            Some("milliseconds") => Expect::all(&["msecs", "*"]),
            Some("nanoseconds") => Expect::all(&["nsecs", "*"]),
            _ => Expect::all(&["usecs", "*"]),
        },
    ))
}

/// Threads of this process contending for the rename mutex.
fn contended_mutex() -> Option<Workload> {
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: LOCK_COMM.into(),
        ..Facts::default()
    };
    Some(workload(
        facts,
        || common::workloads::contend_rename_mutex(2_000),
        |mode| match mode.flag {
            // -t: the test's main thread, which does not contend.
            Some("tid") => Expect::none_of(&[LOCK_COMM]),
            _ => Expect::all(&["mutex", LOCK_COMM]),
        },
    ))
}

/// This process writes, fsyncs and reads a marker-named file, then reads
/// it whole a few times (enough bytes to be among filetop's top rows).
fn file_reads() -> Option<Workload> {
    let ops = FileOps::new(&marker("ft"));
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let name = ops.name.clone();
    Some(workload(
        facts,
        move || {
            ops.run();
            for _ in 0..4 {
                std::fs::read(ops.path()).expect("reading the file back");
            }
        },
        move |_| Expect::all(&[&name]),
    ))
}

/// A 4 MiB file dropped from the page cache and read back whole: the read
/// uses pages readahead brought in (a histogram bar).
fn uncached_read() -> Option<Workload> {
    let dir = TempDir::new("readahead");
    let path = dir.file(&marker("ra"));
    std::fs::write(&path, vec![7u8; 4 << 20]).expect("writing the file");
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        move || {
            let file = std::fs::File::open(&path).expect("opening the file");
            file.sync_all().expect("syncing the file");
            // SAFETY: posix_fadvise on an fd we own; it only drops clean cache.
            let dropped = unsafe {
                use std::os::fd::AsRawFd;
                libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED)
            };
            assert_eq!(dropped, 0, "dropping the file's page cache");
            std::fs::read(&path).expect("reading the file");
        },
        move |_| Expect::all(&["msecs", "*"]),
    );
    w._keep.push(Box::new(dir));
    Some(w)
}

/// A file of a unique name created and, a moment later, unlinked by this
/// process (filelife matches them by that name).
fn short_lived_file() -> Option<Workload> {
    let dir = TempDir::new("filelife");
    let path = dir.file(&marker("fl"));
    let name = marker("fl");
    let facts = Facts {
        pid: me(),
        tid: me(),
        comm: thread_comm(),
        ..Facts::default()
    };
    let mut w = workload(
        facts,
        move || {
            std::fs::write(&path, b"short-lived").expect("creating the file");
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::remove_file(&path).expect("unlinking the file");
        },
        move |_| Expect::all(&[&name]),
    );
    w._keep.push(Box::new(dir));
    Some(w)
}

/// `cat` in a memory cgroup limited to 16 MiB reading a 64 MiB file that is
/// not in the page cache: the cgroup's page cache outgrows the limit and
/// cat reclaims before it can read on (its pid is known before).
fn memcg_reclaim() -> Option<Workload> {
    let root = std::path::Path::new("/sys/fs/cgroup/memory");
    if !root.join("memory.limit_in_bytes").exists() {
        println!("drsnoop: skipped: no cgroup v1 memory controller at {root:?}");
        return None;
    }
    let cgroup = ScratchCgroup(root.join(marker("dr")));
    std::fs::create_dir(&cgroup.0).expect("creating a memory cgroup");
    std::fs::write(cgroup.0.join("memory.limit_in_bytes"), "16777216").expect("limiting it");
    let procs = cgroup.0.join("cgroup.procs").to_string_lossy().into_owned();
    let file = FileOps::new(&marker("dr"));
    let path = file.path().to_string_lossy().into_owned();
    let mut gated = Some(Gated::new(&format!("echo $$ >{procs} && exec cat {path}")));
    let pid = gated.as_ref().map_or(0, Gated::pid);
    let mut w = workload(
        Facts {
            pid,
            tid: pid,
            ..Facts::default()
        },
        move || {
            file.write_uncached(64 << 20);
            let status = gated.take().expect("caused once").go();
            assert!(status.success(), "cat: {status}");
        },
        move |_| Expect::all(&["cat", &pid.to_string()]),
    );
    w._keep.push(Box::new(cgroup));
    Some(w)
}
