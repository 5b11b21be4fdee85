//! One scrape: every target's maps and event counts, the health of every
//! BPF program on the machine, and bpfkit's own process.

use super::target::Target;
use anyhow::Result;
use bpfkit_metrics::{Exposition, Format, Kind, write_map};
use std::os::fd::AsFd;
use std::time::Instant;

/// The exposition text of one scrape.
pub fn scrape(targets: &[Target], format: Format) -> Result<String> {
    let start = Instant::now();
    let mut expo = Exposition::new(format);
    let mut capped = Vec::new();
    for target in targets {
        for (source, decoded) in target.read_maps()? {
            let aggregated = write_map(&mut expo, &source.metrics, &decoded);
            capped.push((target.name.as_str(), source.name.as_str(), aggregated));
        }
    }
    write_capped(&mut expo, &capped);
    write_events(&mut expo, targets);
    write_programs(&mut expo, targets);
    write_process(&mut expo);
    expo.family(
        "bpfkit_scrape_duration_seconds",
        Kind::Gauge,
        "Time this scrape took to build, up to this line.",
    );
    expo.sample(
        "bpfkit_scrape_duration_seconds",
        &[],
        start.elapsed().as_secs_f64(),
    );
    Ok(expo.finish())
}

fn write_capped(expo: &mut Exposition, capped: &[(&str, &str, usize)]) {
    if capped.is_empty() {
        return;
    }
    expo.family(
        "bpfkit_map_other_entries",
        Kind::Gauge,
        "Map entries over --max-series, added up into the series labelled 'other'.",
    );
    for (target, map, aggregated) in capped {
        expo.sample(
            "bpfkit_map_other_entries",
            &[("target", target), ("map", map)],
            aggregated,
        );
    }
}

fn write_events(expo: &mut Exposition, targets: &[Target]) {
    for (family, help, pick) in [
        (
            "bpfkit_events",
            "Records read from each ring or perf buffer.",
            (|t: &Target| &t.counters.events) as fn(&Target) -> &_,
        ),
        (
            "bpfkit_lost",
            "Records lost by each ring or perf buffer (kernel's lost records, programs' drop counters).",
            |t: &Target| &t.counters.lost,
        ),
    ] {
        let mut rows = Vec::new();
        for target in targets {
            if let Ok(counts) = pick(target).lock() {
                rows.extend(
                    counts
                        .iter()
                        .map(|(map, n)| (target.name.clone(), map.clone(), *n)),
                );
            }
        }
        if rows.is_empty() {
            continue;
        }
        expo.family(family, Kind::Counter, help);
        let sample = format!("{family}_total");
        for (target, map, n) in rows {
            expo.sample(&sample, &[("target", &target), ("map", &map)], n);
        }
    }
}

/// One loaded program's stats.
struct Program {
    id: String,
    name: String,
    kind: &'static str,
    target: String,
    run_count: u64,
    run_seconds: f64,
    recursion_misses: u64,
}

/// Every program loaded on the machine, bpfkit's own and others'; run
/// counts and times are counted while stats are enabled (while serving).
fn programs(targets: &[Target]) -> Vec<Program> {
    let Ok(ids) = bpfkit_sys::prog_ids() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in ids {
        // A program may be unloaded between listing and opening it.
        let Ok(fd) = bpfkit_sys::prog_fd_by_id(id) else {
            continue;
        };
        let Ok(info) = bpfkit_sys::prog_info(fd.as_fd()) else {
            continue;
        };
        let target = targets
            .iter()
            .find(|t| t.program_ids.contains(&id))
            .map_or(String::new(), |t| t.name.clone());
        out.push(Program {
            id: id.to_string(),
            name: info.name,
            kind: bpfkit_sys::prog_type_name(info.prog_type),
            target,
            run_count: info.run_cnt,
            run_seconds: info.run_time_ns as f64 / 1e9,
            recursion_misses: info.recursion_misses,
        });
    }
    out
}

fn write_programs(expo: &mut Exposition, targets: &[Target]) {
    let programs = programs(targets);
    if programs.is_empty() {
        return;
    }
    type Pick = fn(&Program) -> String;
    let families: [(&str, &str, Pick); 3] = [
        (
            "bpfkit_program_runs",
            "Times each loaded BPF program ran (counted while bpfkit serves).",
            |p| p.run_count.to_string(),
        ),
        (
            "bpfkit_program_run_seconds",
            "Time each loaded BPF program ran (counted while bpfkit serves).",
            |p| p.run_seconds.to_string(),
        ),
        (
            "bpfkit_program_recursion_misses",
            "Runs of each loaded BPF program skipped because it was already running on the CPU.",
            |p| p.recursion_misses.to_string(),
        ),
    ];
    for (family, help, value) in families {
        expo.family(family, Kind::Counter, help);
        let sample = format!("{family}_total");
        for p in &programs {
            let labels = [
                ("id", p.id.as_str()),
                ("name", p.name.as_str()),
                ("type", p.kind),
                ("target", p.target.as_str()),
            ];
            expo.sample(&sample, &labels, value(p));
        }
    }
}

/// The usual `process_*` metrics of bpfkit itself, from /proc/self.
fn write_process(expo: &mut Exposition) {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    if let Some(rss) = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
    {
        expo.family(
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory of bpfkit.",
        );
        expo.sample("process_resident_memory_bytes", &[], rss * page);
    }
    if let Some(cpu) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| cpu_ticks(&s))
    {
        expo.family(
            "process_cpu_seconds",
            Kind::Counter,
            "User and system CPU time of bpfkit.",
        );
        expo.sample("process_cpu_seconds_total", &[], cpu as f64 / ticks);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        expo.family("process_open_fds", Kind::Gauge, "Open fds of bpfkit.");
        expo.sample("process_open_fds", &[], fds.count());
    }
}

/// utime + stime from /proc/self/stat (fields 14 and 15; the command name
/// in parentheses may hold spaces, so fields are counted after it).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::cpu_ticks;

    #[test]
    fn cpu_ticks_skip_a_command_with_spaces() {
        let stat = "42 (a b) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(10));
    }
}
