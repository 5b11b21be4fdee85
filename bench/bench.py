#!/usr/bin/env python3
"""bpfkit benchmarks against libbpf-tools, bpftrace and bpftool, in one run.

Run as root: bench/run [--quick] [--only M1,M2,...] [--out DIR]
Results: DIR/results.json and DIR/results.md (default bench/out/).
Stdlib only. Never run from `cargo test`.
"""

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = Path("/dev/shm/bpfkit-bench")  # tmpfs: every tracer writes its output here
SINK = WORK / "sink.out"
STDBUF = "/usr/libexec/coreutils/libstdbuf.so"
CLANG = "clang-16"

# ---------------------------------------------------------------------------
# Tracers: one line of configuration each. {bpfkit} is the binary, {tools} the
# directory of the built-in tools' objects. `ready` is a regex for the line a
# tracer prints once attached (used only by tracers without marker events).
# ---------------------------------------------------------------------------
BT_EXEC = "tracepoint:syscalls:sys_enter_execve { printf(\"%s\\n\", str(args->filename)); }"
BT_OPEN = (
    "tracepoint:syscalls:sys_enter_openat { @fname[tid] = args->filename; } "
    "tracepoint:syscalls:sys_exit_openat /@fname[tid]/ "
    "{ printf(\"%d %s %d %s\\n\", pid, comm, args->ret, str(@fname[tid])); delete(@fname[tid]); }"
)
BT_RUNQLAT = (
    "tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; } "
    "tracepoint:sched:sched_switch { if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; } "
    "$ns = @qtime[args->next_pid]; if ($ns) { @usecs = hist((nsecs - $ns) / 1000); } "
    "delete(@qtime[args->next_pid]); } "
    "BEGIN { printf(\"Tracing CPU scheduler...\\n\"); }"
)
BT_PROFILE = "profile:hz:HZ { @[kstack, ustack, comm, pid] = count(); }"
BT_TRACE = "tracepoint:syscalls:sys_enter_openat { printf(\"%s\\n\", str(args->filename)); }"
# BEGIN runs once every probe is attached: its line marks "attached"
BT_FUNCCOUNT = "tracepoint:PATTERN { @[probe] = count(); } BEGIN { printf(\"Tracing\\n\"); }"


def bpftrace(script):
    """A bpftrace command line; braces doubled for str.format()."""
    return "bpftrace -e '" + script.replace("{", "{{").replace("}", "}}") + "'"


RUNQLAT_RAW_TP = "--disable sched_wakeup --disable sched_wakeup_new --disable sched_switch"
TRACERS = {
    "execsnoop": {
        "bpfkit": ["{bpfkit} execsnoop", "{bpfkit} run {tools}/execsnoop.bpf.o"],
        "bpfkit-json": ["{bpfkit} execsnoop --json", "{bpfkit} run {tools}/execsnoop.bpf.o -o json"],
        "libbpf-tools": ["/usr/sbin/execsnoop"],
        "bpftrace": [bpftrace(BT_EXEC)],
    },
    "opensnoop": {
        "bpfkit": ["{bpfkit} opensnoop", "{bpfkit} run {tools}/opensnoop.bpf.o"],
        "bpfkit-json": ["{bpfkit} opensnoop --json", "{bpfkit} run {tools}/opensnoop.bpf.o -o json"],
        "libbpf-tools": ["/usr/sbin/opensnoop"],
        "bpftrace": [bpftrace(BT_OPEN)],
    },
    "runqlat": {
        "bpfkit": ["{bpfkit} runqlat -v", "{bpfkit} run {tools}/runqlat.bpf.o -v " + RUNQLAT_RAW_TP],
        "libbpf-tools": ["/usr/sbin/runqlat"],
        "bpftrace": [bpftrace(BT_RUNQLAT)],
    },
    "trace": {
        "bpfkit": ["{bpfkit} trace 't:syscalls:sys_enter_openat \"%s\", args->filename'"],
        "bpftrace": [bpftrace(BT_TRACE)],
    },
    "funccount": {
        "bpfkit": ["{bpfkit} funccount 't:{pattern}'"],
        "bpftrace": [bpftrace(BT_FUNCCOUNT).replace("PATTERN", "{pattern}")],
    },
    "profile": {
        "bpfkit": ["{bpfkit} profile -I -v -F {hz}", "{bpfkit} run {work}/profile.bpf.o -v --sample-freq {hz}"],
        "bpftrace": [bpftrace(BT_PROFILE).replace("HZ", "{hz}")],
    },
}
# what a tracer without marker events prints once attached (bpftrace's BEGIN runs after attaching)
READY = {"runqlat": r"Tracing|attached sched_switch", "profile": r"Attaching \d+ probe|attached",
         "funccount": r"(?m)^Tracing"}
# bpfkit prints "Tracing..." before it loads anything; only -v's "attached" means attached
READY_BPFKIT = {"runqlat": r"attached sched_switch", "profile": r"attached",
                "funccount": r"Tracing \d+ functions"}  # funccount says it after attaching
MARKER_TOOLS = ("execsnoop", "opensnoop", "trace")  # print a line per event the harness causes
PEERS_OF_BPFKIT = ("libbpf-tools", "bpftrace")
FAILURES = []  # tracers that never became ready: the run exits 1 (CI smoke mode relies on it)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, **kw)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------
def summary(values):
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    q = statistics.quantiles(vals, n=4) if len(vals) >= 2 else [vals[0]] * 3
    return {"median": statistics.median(vals), "min": vals[0], "max": vals[-1],
            "q1": q[0], "q3": q[2], "n": len(vals)}


# ---------------------------------------------------------------------------
# Process measurement
# ---------------------------------------------------------------------------
def cpu_ns(pid):
    """CPU time of every live thread of pid, in ns (schedstat: ns precision)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                total += int(open(f"/proc/{pid}/task/{task}/schedstat").read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


def vm_hwm_kib(pid):
    return proc_status_kib(pid, "VmHWM")


def proc_status_kib(pid, field):
    """A memory field of /proc/PID/status (VmHWM: peak RSS, VmRSS: now), in KiB."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def bpf_progs():
    """{id: (run_time_ns, run_cnt)} of every loaded BPF program."""
    out = sh(["bpftool", "-j", "prog", "show"])
    try:
        progs = json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        return {}
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in progs}


class Tracer:
    """One tracer process writing stdout+stderr to the tmpfs sink (O_APPEND)."""

    def __init__(self, name, cmd):
        self.name, self.cmd = name, cmd
        self.progs_before = bpf_progs()
        SINK.write_bytes(b"")
        self.sink = open(SINK, "ab")
        self.offset = 0
        env = dict(os.environ)
        if name == "libbpf-tools":  # glibc stdio buffers a file fully; a tracer must not
            env.update(LD_PRELOAD=STDBUF, _STDBUF_O="L")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(shlex.split(cmd), stdout=self.sink, stderr=self.sink,
                                     env=env, start_new_session=True)
        self.pid = self.proc.pid

    def read_new(self):
        with open(SINK, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return data

    def wait_for(self, pattern, trigger=None, timeout=30.0):
        """Seconds from exec until `pattern` (bytes regex) shows in the output."""
        rx = re.compile(pattern)
        tail = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if trigger:
                trigger()
            chunk = tail + self.read_new()
            if rx.search(chunk):
                return time.monotonic() - self.t0
            tail = chunk[-4096:]
            if self.proc.poll() is not None:
                return None
            time.sleep(0.001)
        return None

    def drain(self, quiet=0.3, timeout=20.0):
        """Wait until the output stops growing for `quiet` seconds; returns
        the monotonic time of its last growth."""
        last, since = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            size = SINK.stat().st_size
            if size != last:
                last, since = size, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.01)
        return since

    def collect(self, tag, expected, quiet=0.3, timeout=20.0):
        """Read the output as it comes until `expected` lines carry `tag`, or
        no new tagged line came for `quiet` seconds (the rest is lost).
        Returns (tagged lines, all lines, monotonic time of the last tagged line).
        System-wide tracers also print other processes' events; those count in
        `all lines` (work the consumer did) but do not keep the wait going."""
        tag = tag.encode()
        tagged = lines = 0
        partial = b""
        last = time.monotonic()
        deadline = last + timeout
        while time.monotonic() < deadline:
            chunk = partial + self.read_new()
            complete, _, partial = chunk.rpartition(b"\n")
            if complete:
                rows = complete.split(b"\n")
                lines += len(rows)
                new = sum(1 for r in rows if tag in r)
                if new:
                    tagged += new
                    last = time.monotonic()
            if tagged >= expected or time.monotonic() - last >= quiet:
                break
            time.sleep(0.01)
        return tagged, lines, last

    def new_progs(self):
        now = bpf_progs()
        return {i: v for i, v in now.items() if i not in self.progs_before}

    def stop_with_timeout(self, timeout=15.0, final=None):
        """SIGINT, then wait (SIGKILL to the session after `timeout`). With
        `final` (a bytes regex): the seconds from SIGINT until it showed in
        the output written after the signal (the final counts), else None."""
        final_s = None
        if self.proc.poll() is not None:
            log(f"  {self.name} exited early (status {self.proc.returncode}): {self.output()[-300:]!r}")
        else:
            self.read_new()  # only what comes after the signal counts
            rx = re.compile(final) if final else None
            seen = b""
            stopping = time.monotonic()
            self.proc.send_signal(signal.SIGINT)
            deadline = stopping + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                if rx and final_s is None:
                    seen += self.read_new()
                    if rx.search(seen):
                        final_s = time.monotonic() - stopping
                time.sleep(0.005)
            if self.proc.poll() is None:
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            if rx and final_s is None and rx.search(seen + self.read_new()):
                final_s = time.monotonic() - stopping
        self.sink.close()
        self.final_s = final_s
        return self

    def output(self):
        return SINK.read_bytes()


# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------
class Env:
    def __init__(self, args):
        self.args = args
        WORK.mkdir(parents=True, exist_ok=True)
        self.bpfkit = self.find_bpfkit()
        self.wl = str(WORK / "workload")
        run_checked(["gcc", "-O2", "-Wall", "-o", self.wl, str(BENCH / "workload.c")])
        self.marker_bin = {}
        self.builtin = self.builtin_tools()
        self.rb_consumer = self.build_rb_consumer()
        for size in (8, 256):
            self.build_bpf(BENCH / "ringbuf.bpf.c", WORK / f"ringbuf{size}.bpf.o", [f"-DREC_SIZE={size}"])
        self.build_bpf(BENCH / "profile.bpf.c", WORK / "profile.bpf.o", [])
        self.build_bpf(BENCH / "hashmap.bpf.c", WORK / "hashmap.bpf.o", [])

    def find_bpfkit(self):
        path = os.environ.get("BPFKIT")
        if path:
            return path
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        log("building bpfkit (cargo build --release)")
        run_checked(["cargo", "build", "--release", "-p", "bpfkit"], cwd=REPO)
        return str(target / "release" / "bpfkit")

    def builtin_tools(self):
        out = sh([self.bpfkit, "tools"])
        if out.returncode != 0:
            return set()
        names = set()
        for tool in TRACERS:
            if re.search(rf"\b{tool}\b", out.stdout) and sh([self.bpfkit, tool, "--help"]).returncode == 0:
                names.add(tool)
        return names

    def build_rb_consumer(self):
        out = WORK / "rb_consumer"
        r = sh(["gcc", "-O2", "-Wall", "-o", str(out), str(BENCH / "rb_consumer.c"), "-lbpf"])
        if r.returncode != 0:
            log("cannot link the libbpf consumer:", r.stderr.strip())
            return None
        return str(out)

    def build_bpf(self, src, out, defines):
        run_checked([CLANG, "-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86",
                     "-I", str(REPO / "include" / "vmlinux"), "-I/usr/include/x86_64-linux-gnu",
                     *defines, "-c", str(src), "-o", str(out)])

    def command(self, tool, tracer, **extra):
        """The first configured command that this bpfkit can run."""
        options = TRACERS[tool][tracer]
        if tracer.startswith("bpfkit") and tool not in self.builtin and len(options) > 1:
            options = options[1:]
        fmt = dict(bpfkit=self.bpfkit, tools=REPO / "crates" / "tools" / "bpf", work=WORK, **extra)
        return options[0].format(**fmt)

    def marker_exe(self, tag):
        """A copy of /bin/true named after the marker: its comm and path carry the tag."""
        path = WORK / tag
        if not path.exists():
            shutil.copy("/bin/true", path)
        return str(path)

    def workload(self, *argv, cpu=0):
        out = run_checked(["taskset", "-c", str(cpu), self.wl, *map(str, argv)])
        return json.loads(out.stdout.strip().splitlines()[-1])


def run_checked(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(map(str, cmd))}\n{r.stderr}")
    return r


def machine_info():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return {"kernel": platform.release(), "kernel_version": platform.version(), "cpu": cpu,
            "ncpu": os.cpu_count(), "mem_total": next(l.split(":")[1].strip() for l in open("/proc/meminfo")
                                                       if l.startswith("MemTotal")),
            "bpftrace": sh("bpftrace --version").stdout.strip(),
            "bpftool": sh("bpftool version").stdout.splitlines()[0] if sh("bpftool version").stdout else "?",
            "libbpf-tools": sh("dpkg-query -W -f='${Version}' libbpf-tools").stdout.strip(),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
            "bpfkit_commit": sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()}


def cpu_times():
    """(total jiffies, steal jiffies) from /proc/stat."""
    f = open("/proc/stat").readline().split()[1:]
    vals = list(map(int, f))
    return sum(vals), vals[7]


# ---------------------------------------------------------------------------
# M1 + M2: start-up, then overhead on the traced workload, per launch
# ---------------------------------------------------------------------------
class Counter:
    n = 0

    @classmethod
    def tag(cls, prefix):
        cls.n += 1
        return f"{prefix}{os.getpid() % 1000:03d}x{cls.n:05d}"


def trigger_for(env, tool, tag):
    if tool == "execsnoop":
        exe = env.marker_exe(tag)
        return lambda: os.waitpid(os.posix_spawn(exe, [exe], {}), 0)
    path = f"/tmp/{tag}"

    def open_missing():
        try:
            os.close(os.open(path, os.O_RDONLY))
        except OSError:
            pass
    return open_missing


def launch(env, tool, tracer, ready_timeout=30.0, **extra):
    """Start a tracer and measure its start-up: (Tracer, startup dict) or (None, None)."""
    cmd = env.command(tool, tracer, **extra)
    t = Tracer(tracer, cmd)
    if tool in MARKER_TOOLS:
        tag = Counter.tag("bkm")
        secs = t.wait_for(re.escape(tag).encode(), trigger_for(env, tool, tag), timeout=ready_timeout)
    else:
        ready = READY_BPFKIT[tool] if tracer.startswith("bpfkit") else READY[tool]
        secs = t.wait_for(ready.encode(), timeout=ready_timeout)
    if secs is None:
        log(f"  {tracer} {tool}: no start-up marker; output: {t.output()[-400:]!r}")
        FAILURES.append(f"{tracer} {tool} did not start")
        t.stop_with_timeout()
        return None, None
    cpu = cpu_ns(t.pid)
    return t, {"startup_s": secs, "startup_cpu_ms": cpu / 1e6 if cpu is not None else None,
               "startup_rss_kib": vm_hwm_kib(t.pid)}


def m1_m2(env, runs, ops):
    """Each launch: start-up (M1), then the pinned workload loop (M2)."""
    tracers = ["none", "bpfkit", "libbpf-tools", "bpftrace"]
    return {tool: overhead_runs(env, tool, mode, tracers, runs, ops[mode])
            for tool, mode in (("execsnoop", "exec"), ("opensnoop", "open"))}


def overhead_runs(env, tool, mode, tracers, runs, n):
    """one_overhead_run for each tracer, interleaved, `runs` times after a warm-up."""
    rows = {t: [] for t in tracers}
    for run in range(runs + 1):  # run 0 is the warm-up, discarded
        for tracer in tracers:
            row = one_overhead_run(env, tool, mode, tracer, n)
            if run > 0 and row:
                rows[tracer].append(row)
        log(f"  {tool} run {run}/{runs}")
    res = {t: {k: summary([r.get(k) for r in rs]) for k in (rs[0].keys() if rs else [])}
           for t, rs in rows.items()}
    res["_command"] = {t: env.command(tool, t) for t in tracers if t != "none"}
    return res


def one_overhead_run(env, tool, mode, tracer, n):
    tag = Counter.tag("bkw")
    target = env.marker_exe(tag) if mode == "exec" else str(WORK / tag)
    if mode == "open":
        Path(target).write_text("x")
    if tracer == "none":
        wl = env.workload(mode, n, target)
        return {"ns_per_op": wl["ns_per_op"]}
    started = time.monotonic()
    t, row = launch(env, tool, tracer)
    if t is None:
        return None
    t.read_new()  # skip the start-up output
    cpu0 = cpu_ns(t.pid)
    wl = env.workload(mode, n, target)
    seen, lines, _ = t.collect(tag, wl["count"], quiet=1.0)
    cpu1 = cpu_ns(t.pid)
    progs = t.new_progs()
    peak_rss = vm_hwm_kib(t.pid)
    t.stop_with_timeout()
    if seen < wl["count"]:
        log(f"  {tracer} {tool}: {seen} of {wl['count']} events seen")
    if time.monotonic() - started > 10:
        log(f"  slow: {tracer} {tool} took {time.monotonic() - started:.1f}s")
    run_ns = sum(v[0] for v in progs.values())
    run_cnt = sum(v[1] for v in progs.values())
    row.update(ns_per_op=wl["ns_per_op"], events=wl["count"], seen=seen,
               loss_pct=100.0 * max(0, wl["count"] - seen) / wl["count"],
               consumer_cpu_ns_per_event=(cpu1 - cpu0) / max(lines, 1),
               other_events=lines - seen,
               bpf_ns_per_run=run_ns / run_cnt if run_cnt else None,
               bpf_runs_per_op=run_cnt / wl["count"],
               peak_rss_kib=peak_rss)
    return row


# ---------------------------------------------------------------------------
# M1 runqlat: time until attached
# ---------------------------------------------------------------------------
def m1_runqlat(env, runs):
    return startup_runs(env, "runqlat", ["bpfkit", "libbpf-tools", "bpftrace"], runs)


# What a tracer prints once stopped (its final counts): the time from SIGINT
# until it shows is what the user waits for; detaching may go on after it.
FINAL_OUTPUT = {"funccount": {"bpfkit": rb"COUNT", "bpftrace": rb"@\["}}


def startup_runs(env, tool, tracers, runs, ready_timeout=30.0, stop_timeout=15.0, **extra):
    """Launch each tracer until attached, `runs` times after a warm-up, interleaved:
    start-up, peak RSS, and the time from SIGINT to its exit (detaching)."""
    rows = {t: [] for t in tracers}
    for run in range(runs + 1):
        for tracer in tracers:
            t, row = launch(env, tool, tracer, ready_timeout=ready_timeout, **extra)
            if t:
                row["peak_rss_kib"] = vm_hwm_kib(t.pid)
                stopping = time.monotonic()
                t.stop_with_timeout(stop_timeout, final=FINAL_OUTPUT.get(tool, {}).get(tracer))
                row["stop_s"] = time.monotonic() - stopping
                if t.final_s is not None:
                    row["final_output_s"] = t.final_s
                if run > 0:
                    rows[tracer].append(row)
    res = {t: {k: summary([r[k] for r in rs]) for k in (rs[0] if rs else {})} for t, rs in rows.items()}
    res["_command"] = {t: env.command(tool, t, **extra) for t in tracers}
    return res


# ---------------------------------------------------------------------------
# M3: saturation, ramping the open rate
# ---------------------------------------------------------------------------
def m3(env, rates, step_s, reps):
    tracers = ["bpfkit", "bpfkit-json", "libbpf-tools", "bpftrace"]
    per = {t: {r: [] for r in rates} for t in tracers}
    for rep in range(reps):
        for tracer in tracers:
            t, _ = launch(env, "opensnoop", tracer)
            if t is None:
                continue
            failures = 0
            for rate in rates:
                tag = Counter.tag("bkr")
                path = WORK / tag
                path.write_text("x")
                t.read_new()
                cpu0 = cpu_ns(t.pid)
                wl = env.workload("rate", rate, step_s, path)
                seen, lines, _ = t.collect(tag, wl["count"], quiet=0.5)
                cpu1 = cpu_ns(t.pid)
                os.truncate(SINK, 0)  # O_APPEND writers continue at the new end
                t.offset = 0
                loss = 100.0 * max(0, wl["count"] - seen) / max(wl["count"], 1)
                per[tracer][rate].append({
                    "achieved_rate": wl["count"] * 1e9 / wl["elapsed_ns"], "loss_pct": loss,
                    "consumer_cpu_ns_per_event": (cpu1 - cpu0) / max(lines, 1),
                    "consumer_cpu_pct": 100.0 * (cpu1 - cpu0) / wl["elapsed_ns"]})
                failures = failures + 1 if loss >= 0.1 else 0
                if failures >= 2:
                    break
            t.stop_with_timeout()
        log(f"  M3 rep {rep + 1}/{reps}")
    res = {}
    for tracer in tracers:
        steps = {r: {k: summary([x[k] for x in xs]) for k in xs[0]} for r, xs in per[tracer].items() if xs}
        # highest rate whose median loss stays under 0.1%, per repetition then median
        sustained = []
        for rep in range(reps):
            best = 0
            for r in rates:
                xs = per[tracer][r]
                if rep < len(xs) and xs[rep]["loss_pct"] < 0.1:
                    best = max(best, xs[rep]["achieved_rate"])
                elif rep < len(xs):
                    break
            sustained.append(best)
        res[tracer] = {"sustained_rate": summary(sustained), "steps": steps,
                       "command": env.command("opensnoop", tracer)}
    return res


# ---------------------------------------------------------------------------
# M4: ring buffer transport
# ---------------------------------------------------------------------------
def m4(env, runs, records):
    consumers = {"bpfkit": "{bpfkit} run {obj} -v", "bpfkit-json": "{bpfkit} run {obj} -v -o json"}
    if env.rb_consumer:
        consumers["libbpf-count"] = f"{env.rb_consumer} {{obj}} count"
        consumers["libbpf-print"] = f"{env.rb_consumer} {{obj}} print"
    res = {}
    for size in (8, 256):
        obj = WORK / f"ringbuf{size}.bpf.o"
        rows = {c: [] for c in consumers}
        for run in range(runs + 1):
            for name, cmd in consumers.items():
                t = Tracer(name, cmd.format(bpfkit=env.bpfkit, obj=obj))
                if t.wait_for(rb"Tracing|attached") is None:
                    log(f"  M4 {name}: failed: {t.output()[-300:]!r}")
                    FAILURES.append(f"M4 {name} did not start")
                    t.stop_with_timeout()
                    continue
                cpu0 = cpu_ns(t.pid)
                started = time.monotonic()
                wl = env.workload("getpgid", records)
                busy_s = max(wl["elapsed_ns"] / 1e9, t.drain(quiet=0.3) - started)
                cpu1 = cpu_ns(t.pid)
                t.stop_with_timeout()
                got = delivered_records(name, t.output())
                if run > 0:
                    rows[name].append({
                        "delivered": got, "loss_pct": 100.0 * max(0, wl["count"] - got) / wl["count"],
                        "producer_ns_per_op": wl["ns_per_op"],
                        "delivered_per_s": got / busy_s,
                        "consumer_cpu_ns_per_record": (cpu1 - cpu0) / max(got, 1)})
        res[f"{size}B"] = {c: {k: summary([r[k] for r in rs]) for k in (rs[0] if rs else {})}
                           for c, rs in rows.items()}
        log(f"  M4 {size}B done")
    res["_command"] = consumers
    return res


def delivered_records(consumer, out):
    if consumer == "libbpf-count":
        m = re.search(rb"records (\d+)", out)
        return int(m.group(1)) if m else 0
    if consumer == "bpfkit-json":
        return len(re.findall(rb"(?m)^\{.*\bseq\b", out))
    return len(re.findall(rb"(?m)^\d+(?:\s|$)", out))  # table rows and libbpf-print lines


# ---------------------------------------------------------------------------
# M5: in-kernel aggregation (runqlat, profile) overhead
# ---------------------------------------------------------------------------
def m5(env, runs, secs, rates_hz):
    res = {}
    for workload in ("spin", "ctxsw"):
        cases = [("none", None, {}), ("runqlat", "bpfkit", {}), ("runqlat", "libbpf-tools", {}),
                 ("runqlat", "bpftrace", {})]
        for hz in rates_hz:
            cases += [("profile", "bpfkit", {"hz": hz}), ("profile", "bpftrace", {"hz": hz})]
        rows = {}
        for run in range(runs + 1):
            for tool, tracer, extra in cases:
                key = "none" if tool == "none" else f"{tool} {tracer}" + (f" {extra['hz']}Hz" if extra else "")
                t = None
                if tool != "none":
                    t, _ = launch(env, tool, tracer, **extra)
                    if t is None:
                        rows.setdefault(key, [])
                        continue
                cpu0 = cpu_ns(t.pid) if t else 0
                wl = env.workload(workload, secs)
                row = {"ops_per_s": wl["count"] * 1e9 / wl["elapsed_ns"]}
                if t:
                    cpu = cpu_ns(t.pid) - cpu0
                    lifetime = time.monotonic() - t.t0
                    t.stop_with_timeout()
                    row["tracer_cpu_ms"] = cpu / 1e6
                    if tool == "profile":
                        row["samples"] = profile_samples(t.output())
                        row["expected"] = extra["hz"] * os.cpu_count() * lifetime
                if run > 0:
                    rows.setdefault(key, []).append(row)
        res[workload] = {k: {f: summary([r.get(f) for r in rs]) for f in (rs[0] if rs else {})}
                         for k, rs in rows.items()}
        log(f"  M5 {workload} done")
    res["_command"] = {f"{tool} {tr}": env.command(tool, tr, hz="HZ") for tool in ("runqlat", "profile")
                       for tr in TRACERS[tool]}
    return res


def profile_samples(out):
    """Samples the tracer counted: bpftrace's `@[...]: N` entries, else the last
    column of bpfkit's table rows (SAMPLES, or VALUE of a per-CPU map)."""
    if b"@[" in out:
        return sum(int(n) for n in re.findall(rb"\]: (\d+)", out))
    counts = re.findall(rb"(?m)^\s+(\d+)\s*$", out)  # bpfkit profile: a count under each stack
    if counts:
        return sum(int(n) for n in counts)
    nums = re.findall(rb"(?m)^\s*\d+\s.*?(\d+)\s*$", out)
    return sum(int(n) for n in nums) if nums else None


# ---------------------------------------------------------------------------
# M6: BTF
# ---------------------------------------------------------------------------
def m6(env, runs):
    cases = {
        "vmlinux.h bpfkit": f"{env.bpfkit} btf dump file /sys/kernel/btf/vmlinux --format c",
        "vmlinux.h bpftool": "bpftool btf dump file /sys/kernel/btf/vmlinux format c",
        "raw bpfkit": f"{env.bpfkit} btf dump file /sys/kernel/btf/vmlinux",
        "raw bpftool": "bpftool btf dump file /sys/kernel/btf/vmlinux",
        "parse only bpfkit (one type)": f"{env.bpfkit} btf dump file /sys/kernel/btf/vmlinux --format c --type pid_t",
    }
    return timed_commands(env, cases, runs)


def timed_commands(env, cases, runs):
    """Run each command to completion under the workload generator's `run`
    mode (wall, CPU, the command's own peak RSS), interleaved, after a warm-up.
    Its output goes to a tmpfs file; `lines` counts them (a sanity check)."""
    rows = {k: [] for k in cases}
    for run in range(runs + 1):
        for name, cmd in cases.items():
            out = WORK / "cmd.out"
            with open(out, "wb") as sink:
                r = subprocess.run([env.wl, "run", *shlex.split(cmd)], stdout=sink, stderr=subprocess.DEVNULL)
            data = out.read_bytes()
            body, _, last = data.rstrip().rpartition(b"\n")
            stats = json.loads(last)
            if r.returncode != 0 or stats["status"] != 0:
                log(f"  {name}: failed (status {stats['status']}): {body[-300:]!r}")
                if "bpfkit" in name:
                    FAILURES.append(f"{name} failed")
            elif run > 0:
                rows[name].append({"wall_s": stats["wall_ns"] / 1e9, "cpu_s": stats["cpu_ns"] / 1e9,
                                   "peak_rss_kib": stats["maxrss_kib"], "bytes": len(body),
                                   "lines": body.count(b"\n") + 1})
    res = {k: {f: summary([r[f] for r in rs]) for f in (rs[0] if rs else {})} for k, rs in rows.items()}
    res["_command"] = cases
    return res


# ---------------------------------------------------------------------------
# M7: inspection commands (issue 13)
# ---------------------------------------------------------------------------
def m7(env, runs, entries=10000):
    """`prog list` and `map dump` of a full 10k-entry hash map with BTF, bpfkit
    vs bpftool. The map belongs to hashmap.bpf.o, held by `bpfkit run` while
    the workload generator's getpgid(MAGIC) calls fill it."""
    holder = Tracer("bpfkit", f"{env.bpfkit} run {WORK / 'hashmap.bpf.o'} -v")
    try:
        if holder.wait_for(rb"attached") is None:
            log(f"  M7: hashmap.bpf.o did not load: {holder.output()[-300:]!r}")
            FAILURES.append("M7 bpfkit run hashmap.bpf.o did not start")
            return {}
        env.workload("getpgid", entries)
        maps = json.loads(sh(["bpftool", "-j", "map", "show"]).stdout or "[]")
        ids = [m["id"] for m in maps if m.get("name") == "bench_hash"]
        if not ids:
            FAILURES.append("M7: no bench_hash map")
            return {}
        mid = ids[-1]
        cases = {
            "prog list bpfkit": f"{env.bpfkit} prog list",
            "prog list bpftool": "bpftool prog list",
            "map dump bpfkit": f"{env.bpfkit} map dump id {mid}",
            "map dump bpfkit json": f"{env.bpfkit} map dump id {mid} -j",
            "map dump bpftool": f"bpftool map dump id {mid}",
        }
        res = timed_commands(env, cases, runs)
        res["_programs_loaded"] = len(bpf_progs())
        return res
    finally:
        holder.stop_with_timeout()


# ---------------------------------------------------------------------------
# M8: trace and funccount (issue 12)
# ---------------------------------------------------------------------------
def m8(env, runs, opens, quick):
    """trace: exec until the first event (an open of a marker path), peak RSS,
    then a burst of opens (consumer CPU, loss). funccount: exec until every
    tracepoint is attached, and SIGINT until exit (detaching them)."""
    res = {"trace": overhead_runs(env, "trace", "open", ["bpfkit", "bpftrace"], runs, opens)}
    if quick:  # hundreds of tracepoints take seconds to detach: a small set in CI
        res["funccount sched"] = startup_runs(env, "funccount", ["bpfkit"], 1, pattern="sched:*")
        return res
    # 720 probes exceed bpftrace's default BPFTRACE_MAX_BPF_PROGS (512): 360 side by side.
    # Detaching takes ~40 ms per tracepoint in the kernel (tens of seconds a run): 3 runs.
    runs = min(runs, 3)
    res["funccount sys_enter"] = startup_runs(env, "funccount", ["bpfkit", "bpftrace"], runs,
                                              ready_timeout=120, stop_timeout=120,
                                              pattern="syscalls:sys_enter_*")
    res["funccount syscalls"] = startup_runs(env, "funccount", ["bpfkit"], runs, ready_timeout=120,
                                             stop_timeout=120, pattern="syscalls:*")
    return res


# ---------------------------------------------------------------------------
# M9: serve's steady memory (issue 15)
# ---------------------------------------------------------------------------
SERVE_TOOLS = "runqlat biolatency tcprtt syscount"


def m9(env, runs, scrapes):
    """`bpfkit serve` with four tools: RSS after `scrapes` scrapes, 0.5 s apart."""
    rows = []
    for run in range(runs + 1):
        port = 19400 + run
        t = Tracer("bpfkit", f"{env.bpfkit} serve --listen 127.0.0.1:{port} {SERVE_TOOLS}")
        try:
            started = t.wait_for(rb"serving http")
            if started is None:
                log(f"  M9: serve did not start: {t.output()[-300:]!r}")
                FAILURES.append("M9 bpfkit serve did not start")
                continue
            scrape_s, size = [], 0
            for _ in range(scrapes):
                time.sleep(0.5)
                t0 = time.monotonic()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    size = len(r.read())
                scrape_s.append(time.monotonic() - t0)
            if run > 0:
                rows.append({"startup_s": started, "rss_kib": proc_status_kib(t.pid, "VmRSS"),
                             "peak_rss_kib": vm_hwm_kib(t.pid), "scrape_s": statistics.median(scrape_s),
                             "scrape_bytes": size})
        finally:
            t.stop_with_timeout()
    res = {"bpfkit": {k: summary([r[k] for r in rows]) for k in (rows[0] if rows else {})}}
    res["_command"] = f"{env.bpfkit} serve --listen 127.0.0.1:PORT {SERVE_TOOLS}"
    return res


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def med(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return None
        d = d[p]
    return d["median"] if isinstance(d, dict) and "median" in d else d


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.3g}{unit}"


def spread(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return ""
        d = d[p]
    return f" [{fmt(d['min'])}–{fmt(d['max'])}]" if isinstance(d, dict) and "min" in d else ""


def ratio_row(name, a, b, target, higher_is_better=False, unit=""):
    va, vb = med(*a), med(*b)
    r = va / vb if va is not None and vb not in (None, 0) else None
    met = "n/a" if r is None or target is None else (
        ("yes" if r >= target else "**no**") if higher_is_better else ("yes" if r <= target else "**no**"))
    tgt = "" if target is None else (f"≥{target}×" if higher_is_better else f"≤{target}×")
    return f"| {name} | {fmt(va, unit)}{spread(*a)} | {fmt(vb, unit)}{spread(*b)} | {fmt(r)}× | {tgt} | {met} |"


def report(results):
    lines = []
    mi = results["machine"]
    lines += [f"Machine: {mi['cpu']}, {mi['ncpu']} CPUs, {mi['mem_total']}, Linux {mi['kernel']}; "
              f"steal time during the run {results['steal_pct']:.2f}% of CPU time; "
              f"{mi['bpftrace']}, {mi['bpftool']}, libbpf-tools {mi['libbpf-tools']}, repository HEAD at run time {mi['bpfkit_commit']}.",
              f"Mode: {results['mode']}; runs per measurement: {results['runs']} after a warm-up; "
              f"values are medians [min–max]; total time {results['elapsed_s']:.0f}s.", ""]
    hdr = ["| measurement | bpfkit | peer | ratio | target | met |", "|---|---|---|---|---|---|"]
    m = results.get("M1M2")
    if m:
        lines += ["### M1 start-up and M2 overhead (execsnoop, opensnoop)", ""] + hdr
        for tool in ("execsnoop", "opensnoop"):
            r = m[tool]
            for peer, t_start, t_rss in (("libbpf-tools", 1.2, 1.5), ("bpftrace", 0.2, 0.25)):
                lines.append(ratio_row(f"{tool} start-up s vs {peer}", (r, "bpfkit", "startup_s"),
                                       (r, peer, "startup_s"), t_start))
                lines.append(ratio_row(f"{tool} start-up CPU ms vs {peer}", (r, "bpfkit", "startup_cpu_ms"),
                                       (r, peer, "startup_cpu_ms"), None))
                lines.append(ratio_row(f"{tool} peak RSS KiB vs {peer}", (r, "bpfkit", "peak_rss_kib"),
                                       (r, peer, "peak_rss_kib"), t_rss))
                lines.append(ratio_row(f"{tool} consumer CPU ns/event vs {peer}",
                                       (r, "bpfkit", "consumer_cpu_ns_per_event"),
                                       (r, peer, "consumer_cpu_ns_per_event"), 1.0 if peer == "libbpf-tools" else None))
                lines.append(ratio_row(f"{tool} workload ns/op traced vs {peer}", (r, "bpfkit", "ns_per_op"),
                                       (r, peer, "ns_per_op"), None))
                lines.append(ratio_row(f"{tool} BPF ns/run vs {peer}", (r, "bpfkit", "bpf_ns_per_run"),
                                       (r, peer, "bpf_ns_per_run"), None))
                lines.append(ratio_row(f"{tool} loss % vs {peer}", (r, "bpfkit", "loss_pct"),
                                       (r, peer, "loss_pct"), None))
            lines.append(ratio_row(f"{tool} workload ns/op: bpfkit vs untraced", (r, "bpfkit", "ns_per_op"),
                                   (r, "none", "ns_per_op"), None))
        lines.append("")
    m = results.get("M1runqlat")
    if m:
        lines += ["### M1 runqlat: exec until attached", ""] + hdr
        for peer, t_start, t_rss in (("libbpf-tools", 1.2, 1.5), ("bpftrace", 0.2, 0.25)):
            lines.append(ratio_row(f"runqlat start-up s vs {peer}", (m, "bpfkit", "startup_s"),
                                   (m, peer, "startup_s"), t_start))
            lines.append(ratio_row(f"runqlat peak RSS KiB vs {peer}", (m, "bpfkit", "peak_rss_kib"),
                                   (m, peer, "peak_rss_kib"), t_rss))
        lines.append("")
    m = results.get("M3")
    if m:
        lines += ["### M3 saturation (opensnoop, open rate ramp, <0.1% loss)", ""] + hdr
        for b in ("bpfkit", "bpfkit-json"):
            for peer in PEERS_OF_BPFKIT:
                lines.append(ratio_row(f"sustained events/s: {b} vs {peer}", (m, b, "sustained_rate"),
                                       (m, peer, "sustained_rate"), 1.0 if peer == "libbpf-tools" else None,
                                       higher_is_better=True))
            for rate in (10000, 100000):
                lines.append(ratio_row(f"consumer CPU % at {rate // 1000}k/s: {b} vs libbpf-tools",
                                       (m, b, "steps", rate, "consumer_cpu_pct"),
                                       (m, "libbpf-tools", "steps", rate, "consumer_cpu_pct"), None))
        lines += ["", "Per step (median loss %, consumer CPU %):", "",
                  "| rate | " + " | ".join(m) + " |", "|---" * (len(m) + 1) + "|"]
        rates = sorted({r for t in m.values() for r in t["steps"]})
        for rate in rates:
            cells = [f"{fmt(med(m, t, 'steps', rate, 'loss_pct'))}% / {fmt(med(m, t, 'steps', rate, 'consumer_cpu_pct'))}%"
                     for t in m]
            lines.append(f"| {rate} | " + " | ".join(cells) + " |")
        lines.append("")
    m = results.get("M4")
    if m:
        lines += ["### M4 ring buffer transport (getpgid producer, full speed)", "",
                  "| record | consumer | delivered/s | loss % | consumer CPU ns/record | producer ns/op |",
                  "|---|---|---|---|---|---|"]
        for size in ("8B", "256B"):
            for c, r in m[size].items():
                lines.append(f"| {size} | {c} | {fmt(med(r, 'delivered_per_s'))} | {fmt(med(r, 'loss_pct'))} | "
                             f"{fmt(med(r, 'consumer_cpu_ns_per_record'))}{spread(r, 'consumer_cpu_ns_per_record')} | "
                             f"{fmt(med(r, 'producer_ns_per_op'))} |")
        lines.append("")
    m = results.get("M5")
    if m:
        lines += ["### M5 in-kernel aggregation overhead", "",
                  "| workload | tracer | ops/s | vs untraced | tracer CPU ms | samples / expected |",
                  "|---|---|---|---|---|---|"]
        for w in ("spin", "ctxsw"):
            base = med(m[w], "none", "ops_per_s")
            for k, r in m[w].items():
                ops = med(r, "ops_per_s")
                rel = f"{ops / base:.3f}" if ops and base else "n/a"
                smp = med(r, "samples")
                exp = med(r, "expected")
                lines.append(f"| {w} | {k} | {fmt(ops)} | {rel} | {fmt(med(r, 'tracer_cpu_ms'))} | "
                             f"{fmt(smp)} / {fmt(exp)} |")
        lines.append("")
    m = results.get("M6")
    if m:
        lines += ["### M6 BTF", ""] + hdr
        lines.append(ratio_row("vmlinux.h wall s", (m, "vmlinux.h bpfkit", "wall_s"),
                               (m, "vmlinux.h bpftool", "wall_s"), 0.5))
        lines.append(ratio_row("vmlinux.h peak RSS KiB", (m, "vmlinux.h bpfkit", "peak_rss_kib"),
                               (m, "vmlinux.h bpftool", "peak_rss_kib"), None))
        lines.append(ratio_row("raw dump wall s", (m, "raw bpfkit", "wall_s"), (m, "raw bpftool", "wall_s"), None))
        lines.append(ratio_row("raw dump peak RSS KiB", (m, "raw bpfkit", "peak_rss_kib"),
                               (m, "raw bpftool", "peak_rss_kib"), None))
        lines.append(ratio_row("parse only (bpfkit one type) vs bpftool vmlinux.h wall s",
                               (m, "parse only bpfkit (one type)", "wall_s"), (m, "vmlinux.h bpftool", "wall_s"), None))
        lines.append(ratio_row("parse only peak RSS KiB vs bpftool vmlinux.h",
                               (m, "parse only bpfkit (one type)", "peak_rss_kib"),
                               (m, "vmlinux.h bpftool", "peak_rss_kib"), None))
        lines.append("")
    lines += report_m7(results.get("M7")) + report_m8(results.get("M8")) + report_m9(results.get("M9"))
    lines += ["### Commands", ""]
    for key in ("M1M2", "M1runqlat", "M3", "M4", "M5", "M6", "M7", "M8", "M9"):
        if key in results:
            lines.append(f"- {key}: `{json.dumps(commands_of(results[key]))}`")
    return "\n".join(lines) + "\n"


HEADER = ["| measurement | bpfkit | peer | ratio | target | met |", "|---|---|---|---|---|---|"]


def report_m7(m):
    if not m:
        return []
    lines = [f"### M7 inspection (issue 13; {m.get('_programs_loaded', '?')} programs loaded, "
             f"{fmt(med(m, 'map dump bpfkit', 'lines'))} dump lines)", ""] + HEADER
    # (row label, bpfkit case, bpftool case, wall-time target: issue 13's, table output only)
    pairs = (("prog list", "prog list bpfkit", "prog list bpftool", 0.5),
             ("map dump", "map dump bpfkit", "map dump bpftool", 0.5),
             ("map dump json", "map dump bpfkit json", "map dump bpftool", None))
    for what, ours, peer, wall_target in pairs:
        for field in ("wall_s", "cpu_s", "peak_rss_kib"):
            lines.append(ratio_row(f"{what} {field} vs bpftool", (m, ours, field), (m, peer, field),
                                   wall_target if field == "wall_s" else None))
    return lines + [""]


def report_m8(m):
    if not m:
        return []
    lines = ["### M8 trace and funccount (issue 12)", ""] + HEADER
    r = m["trace"]
    lines.append(ratio_row("trace exec to first event s", (r, "bpfkit", "startup_s"), (r, "bpftrace", "startup_s"), 0.2))
    lines.append(ratio_row("trace start-up CPU ms", (r, "bpfkit", "startup_cpu_ms"),
                           (r, "bpftrace", "startup_cpu_ms"), None))
    lines.append(ratio_row("trace peak RSS KiB (after the burst)", (r, "bpfkit", "peak_rss_kib"),
                           (r, "bpftrace", "peak_rss_kib"), 0.1))
    lines.append(ratio_row("trace consumer CPU ns/event", (r, "bpfkit", "consumer_cpu_ns_per_event"),
                           (r, "bpftrace", "consumer_cpu_ns_per_event"), None))
    lines.append(ratio_row("trace loss %", (r, "bpfkit", "loss_pct"), (r, "bpftrace", "loss_pct"), None))
    for key, r in m.items():
        if not key.startswith("funccount"):
            continue
        for field in ("startup_s", "startup_cpu_ms", "peak_rss_kib", "final_output_s", "stop_s"):
            lines.append(ratio_row(f"{key} {field}", (r, "bpfkit", field), (r, "bpftrace", field), None))
    return lines + [""]


def report_m9(m):
    if not m:
        return []
    r = m["bpfkit"]
    return ["### M9 serve (issue 15): `bpfkit serve " + SERVE_TOOLS + "`", "",
            "| measurement | bpfkit | target | met |", "|---|---|---|---|",
            f"| steady RSS after scrapes KiB | {fmt(med(r, 'rss_kib'))}{spread(r, 'rss_kib')} | <20,480 | "
            f"{'n/a' if med(r, 'rss_kib') is None else ('yes' if med(r, 'rss_kib') < 20480 else '**no**')} |",
            f"| peak RSS KiB | {fmt(med(r, 'peak_rss_kib'))}{spread(r, 'peak_rss_kib')} | | |",
            f"| start-up s (until serving) | {fmt(med(r, 'startup_s'))}{spread(r, 'startup_s')} | | |",
            f"| scrape s | {fmt(med(r, 'scrape_s'))}{spread(r, 'scrape_s')} | | |",
            f"| scrape bytes | {fmt(med(r, 'scrape_bytes'))} | | |", ""]


def commands_of(r):
    if "_command" in r:
        return r["_command"]
    out = {}
    for k, v in r.items():
        if isinstance(v, dict):
            if "_command" in v:
                out[k] = v["_command"]
            elif "command" in v:
                out[k] = v["command"]
    return out


# ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke mode: few runs, small counts (< 2 min)")
    ap.add_argument("--only", default="M1,M2,M3,M4,M5,M6,M7,M8,M9",
                    help="comma-separated subset; M1R is M1's runqlat part alone")
    ap.add_argument("--out", default=str(BENCH / "out"), help="directory for results.json and results.md")
    args = ap.parse_args()
    # a shell's background job inherits SIGINT ignored, and so would every tracer
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (BPF)")
    only = set(args.only.upper().split(","))
    q = args.quick
    runs = 2 if q else 10
    env = Env(args)
    stats_before = sh("sysctl -n kernel.bpf_stats_enabled").stdout.strip() or "0"
    sh("sysctl -w kernel.bpf_stats_enabled=1")
    baseline_progs = set(bpf_progs())
    t_start = time.monotonic()
    jt0, st0 = cpu_times()
    results = {"machine": machine_info(), "mode": "quick" if q else "full", "runs": runs,
               "bpfkit": env.bpfkit, "builtin_tools": sorted(env.builtin)}
    try:
        if only & {"M1", "M2"}:
            log("M1+M2: start-up and workload overhead")
            results["M1M2"] = m1_m2(env, runs, {"open": 20000 if q else 100000, "exec": 100 if q else 1000})
        if only & {"M1", "M2", "M1R"}:
            log("M1: runqlat")
            results["M1runqlat"] = m1_runqlat(env, runs)
        if "M3" in only:
            log("M3: saturation")
            rates = [10000, 100000] if q else [1000, 5000, 10000, 20000, 50000, 100000, 150000, 200000, 300000]
            results["M3"] = m3(env, rates, 0.5 if q else 1.0, 1 if q else 5)
        if "M4" in only:
            log("M4: ring buffer transport")
            results["M4"] = m4(env, 1 if q else runs, 100000 if q else 500000)
        if "M5" in only:
            log("M5: in-kernel aggregation")
            results["M5"] = m5(env, 1 if q else 3, 0.3 if q else 2.0, (99,) if q else (49, 99, 999))
        if "M6" in only:
            log("M6: BTF")
            results["M6"] = m6(env, runs)
        if "M7" in only:
            log("M7: inspection (prog list, map dump)")
            results["M7"] = m7(env, runs)
        if "M8" in only:
            log("M8: trace and funccount")
            results["M8"] = m8(env, 1 if q else runs, 10000 if q else 100000, q)
        if "M9" in only:
            log("M9: serve memory")
            results["M9"] = m9(env, 1 if q else 3, 3 if q else 10)
    finally:
        sh(f"sysctl -w kernel.bpf_stats_enabled={stats_before}")
        jt1, st1 = cpu_times()
        results["steal_pct"] = 100.0 * (st1 - st0) / max(jt1 - jt0, 1)
        results["elapsed_s"] = time.monotonic() - t_start
        left = set(bpf_progs()) - baseline_progs
        results["leftover_progs"] = sorted(left)
        if left:
            log(f"WARNING: BPF programs left loaded: {sorted(left)}")
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        md = report(results)
        (out / "results.md").write_text(md)
        print(md)
    if FAILURES:
        raise SystemExit("bench: failures: " + "; ".join(FAILURES))


if __name__ == "__main__":
    main()
