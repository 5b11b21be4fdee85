//! `bpfkit top`: every BPF program on the machine with what it costs, like
//! bpftop: runs per second, average nanoseconds per run, share of one CPU
//! and its recent history. The kernel counts only while run-time stats
//! are enabled; bpfkit enables them through a `BPF_ENABLE_STATS` fd, which
//! the kernel closes when bpfkit exits however it exits (SIGKILL too), so
//! stats are never left on.
//!
//! `-b` prints samples (a table, or JSON lines with `-j`) instead of the
//! full screen, like `top -b`.

use anyhow::{Context, Result, bail};
use bpfkit_runtime::HolderScanner;
use bpfkit_sys::Holders;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::inspect::{self, JsonArgs};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit top
    bpfkit top -s runs --filter xdp
    bpfkit top -b -n 5 -d 2
    bpfkit top -b -n 1 -d 1 -j

KEYS (full screen):
    q, Esc, Ctrl-C   quit
    p, space         pause / resume
    s                next sort key (c cpu, r runs, a avg, i id, n name)
    /                filter by name, type or holding pid/comm (Enter applies)")]
pub struct TopArgs {
    /// Batch mode: print samples instead of the full screen.
    #[arg(short, long)]
    batch: bool,
    /// How many samples to print in batch mode (default: until interrupted).
    #[arg(short = 'n', long = "iterations", value_name = "N")]
    iterations: Option<u64>,
    /// Time between samples (seconds, or with a unit: 500ms).
    #[arg(short, long, default_value = "1", value_name = "SECS", value_parser = parse_delay)]
    delay: Duration,
    /// Sort key.
    #[arg(short, long, value_enum, default_value_t = SortKey::Cpu)]
    sort: SortKey,
    /// Only programs whose name, type, or holding pid/comm contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    #[command(flatten)]
    json: JsonArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortKey {
    Cpu,
    Runs,
    Avg,
    Id,
    Name,
}

impl SortKey {
    fn next(self) -> SortKey {
        match self {
            SortKey::Cpu => SortKey::Runs,
            SortKey::Runs => SortKey::Avg,
            SortKey::Avg => SortKey::Id,
            SortKey::Id => SortKey::Name,
            SortKey::Name => SortKey::Cpu,
        }
    }

    fn name(self) -> &'static str {
        match self {
            SortKey::Cpu => "cpu",
            SortKey::Runs => "runs",
            SortKey::Avg => "avg",
            SortKey::Id => "id",
            SortKey::Name => "name",
        }
    }
}

fn parse_delay(text: &str) -> Result<Duration> {
    let delay = match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Duration::from_secs_f64(secs)
        }
        Ok(_) => bail!("the delay must be more than 0 and at most 3600 seconds"),
        Err(_) => crate::run::flags::parse_duration(text)?,
    };
    if delay < Duration::from_millis(10) {
        bail!("the delay must be at least 10ms");
    }
    Ok(delay)
}

pub fn run(args: TopArgs) -> Result<ExitCode> {
    if args.iterations == Some(0) {
        bail!("-n must be at least 1");
    }
    let _stats = bpfkit_sys::enable_stats().context(
        "enabling BPF run-time stats (BPF_ENABLE_STATS needs CAP_SYS_ADMIN, kernel 5.8+)",
    )?;
    crate::run::signals::catch_early_stop();
    let mut top = Top::new(args.sort, args.filter.clone());
    top.sample()?;
    if args.batch {
        batch(&mut top, &args)
    } else {
        screen::run(&mut top, args.delay)
    }
}

/// Sleeps `delay` in short steps; false when a stop signal came.
fn wait(delay: Duration) -> bool {
    let end = Instant::now() + delay;
    loop {
        if crate::run::signals::stop_requested().is_some() {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn batch(top: &mut Top, args: &TopArgs) -> Result<ExitCode> {
    let mut printed = 0;
    while args.iterations.is_none_or(|n| printed < n) {
        if !wait(args.delay) {
            break;
        }
        top.sample()?;
        let text = if args.json.is_json() {
            let doc = top.json();
            if args.json.pretty {
                serde_json::to_string_pretty(&doc)?
            } else {
                serde_json::to_string(&doc)?
            }
        } else {
            let sep = if printed > 0 { "\n" } else { "" };
            format!("{sep}{}{}", top.header(), top.table())
        };
        crate::out::stdout(text + "\n")?;
        printed += 1;
    }
    Ok(ExitCode::SUCCESS)
}

/// How many samples of each program's CPU share the history keeps.
const HISTORY: usize = 20;

/// One program between two samples.
#[derive(Clone)]
struct Row {
    id: u32,
    prog_type: &'static str,
    name: String,
    holders: String,
    run_cnt: u64,
    runs_per_sec: f64,
    /// Average nanoseconds per run in the interval (0 without runs).
    avg_ns: f64,
    /// Run time in the interval as a share of one CPU, in percent.
    cpu_percent: f64,
    history: VecDeque<f64>,
}

/// The counters of one program at one moment.
struct Counters {
    run_cnt: u64,
    run_time_ns: u64,
}

struct Top {
    sort: SortKey,
    filter: Option<String>,
    paused: bool,
    previous: HashMap<u32, Counters>,
    taken: Option<Instant>,
    interval: Duration,
    rows: Vec<Row>,
    names: HashMap<u32, String>,
    holders: Holders,
    holders_scanned: Option<Instant>,
    /// Made on the first scan and kept: where it runs the iterator, the
    /// program stays loaded for the whole run instead of being loaded
    /// (and showing up as a new program) on every scan.
    holder_scanner: Option<HolderScanner>,
}

impl Top {
    fn new(sort: SortKey, filter: Option<String>) -> Top {
        Top {
            sort,
            filter,
            paused: false,
            previous: HashMap::new(),
            taken: None,
            interval: Duration::ZERO,
            rows: Vec::new(),
            names: HashMap::new(),
            holders: Holders::default(),
            holders_scanned: None,
            holder_scanner: None,
        }
    }

    /// Reads every program's counters and turns the change since the last
    /// sample into rates.
    fn sample(&mut self) -> Result<()> {
        // The counters first, all together, so that the time of the
        // sample is the time they were read (names and holders come after).
        let started = Instant::now();
        let ids = bpfkit_sys::prog_ids().context("listing programs")?;
        let infos: Vec<bpfkit_sys::ProgInfo> = ids
            .into_iter()
            // A program unloaded meanwhile is left out.
            .filter_map(|id| bpfkit_sys::prog_fd_by_id(id).ok())
            .filter_map(|fd| bpfkit_sys::prog_info(fd.as_fd()).ok())
            .collect();
        let now = started + (Instant::now() - started) / 2;
        let elapsed = self.taken.map(|t| now - t);
        let mut counters = HashMap::with_capacity(infos.len());
        let mut rows = Vec::with_capacity(infos.len());
        let mut new_program = false;
        for info in infos {
            let id = info.id;
            let name = self.names.entry(id).or_insert_with(|| {
                new_program = true;
                super::prog::by_id(id).map_or_else(|| info.name.clone(), |p| p.name)
            });
            let mut row = Row {
                id,
                prog_type: bpfkit_sys::prog_type_name(info.prog_type),
                name: name.clone(),
                holders: String::new(),
                run_cnt: info.run_cnt,
                runs_per_sec: 0.0,
                avg_ns: 0.0,
                cpu_percent: 0.0,
                history: self.history_of(id),
            };
            if let (Some(before), Some(elapsed)) = (self.previous.get(&id), elapsed) {
                rates(&mut row, before, &info, elapsed);
            }
            if elapsed.is_some() {
                row.history.push_back(row.cpu_percent);
                while row.history.len() > HISTORY {
                    row.history.pop_front();
                }
            }
            counters.insert(
                id,
                Counters {
                    run_cnt: info.run_cnt,
                    run_time_ns: info.run_time_ns,
                },
            );
            rows.push(row);
        }
        // Finding holders is the costly part (running the iterator, or a
        // /proc scan): only for new programs, and every 10 s for
        // processes that came or went.
        let stale = self
            .holders_scanned
            .is_none_or(|t| now - t > Duration::from_secs(10));
        if new_program || stale {
            self.holders = self
                .holder_scanner
                .get_or_insert_with(HolderScanner::for_this_machine)
                .scan();
            self.holders_scanned = Some(now);
        }
        for row in &mut rows {
            row.holders = inspect::holders_cell(self.holders.progs.get(&row.id));
        }
        self.names.retain(|id, _| counters.contains_key(id));
        self.previous = counters;
        self.taken = Some(now);
        self.interval = elapsed.unwrap_or_default();
        self.rows = rows;
        Ok(())
    }

    fn history_of(&self, id: u32) -> VecDeque<f64> {
        self.rows
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.history.clone())
            .unwrap_or_default()
    }

    /// The rows that pass the filter, in sort order.
    fn shown(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| match &self.filter {
                Some(text) => {
                    r.name.contains(text.as_str())
                        || r.prog_type.contains(text.as_str())
                        || r.holders.contains(text.as_str())
                }
                None => true,
            })
            .collect();
        let desc = |a: f64, b: f64| b.total_cmp(&a);
        rows.sort_by(|a, b| match self.sort {
            SortKey::Cpu => desc(a.cpu_percent, b.cpu_percent).then(a.id.cmp(&b.id)),
            SortKey::Runs => desc(a.runs_per_sec, b.runs_per_sec).then(a.id.cmp(&b.id)),
            SortKey::Avg => desc(a.avg_ns, b.avg_ns).then(a.id.cmp(&b.id)),
            SortKey::Id => a.id.cmp(&b.id),
            SortKey::Name => a.name.cmp(&b.name).then(a.id.cmp(&b.id)),
        });
        rows
    }

    fn header(&self) -> String {
        let filter = self
            .filter
            .as_deref()
            .map(|f| format!(", filter '{f}'"))
            .unwrap_or_default();
        format!(
            "bpfkit top: {} programs, {:.2} s interval, sorted by {}{filter}; BPF stats on while bpfkit top runs{}\n",
            self.shown().len(),
            self.interval.as_secs_f64(),
            self.sort.name(),
            if self.paused { " [PAUSED]" } else { "" },
        )
    }

    fn cells(row: &Row) -> Vec<String> {
        vec![
            row.id.to_string(),
            row.prog_type.to_string(),
            row.name.clone(),
            format!("{:.1}", row.runs_per_sec),
            format!("{:.0}", row.avg_ns),
            format!("{:.2}", row.cpu_percent),
            sparkline(&row.history),
            row.holders.clone(),
        ]
    }

    const HEADERS: [&'static str; 8] = [
        "ID", "TYPE", "NAME", "RUNS/S", "AVG_NS", "CPU%", "HISTORY", "PIDS",
    ];

    fn table(&self) -> String {
        let rows: Vec<Vec<String>> = self.shown().into_iter().map(Top::cells).collect();
        inspect::table(&Top::HEADERS, &rows)
    }

    fn json(&self) -> Value {
        let programs: Vec<Value> = self
            .shown()
            .into_iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "type": r.prog_type,
                    "name": r.name,
                    "run_cnt": r.run_cnt,
                    "runs_per_sec": r.runs_per_sec,
                    "avg_ns": r.avg_ns,
                    "cpu_percent": r.cpu_percent,
                    "pids": r.holders,
                })
            })
            .collect();
        json!({
            "type": "top",
            // Unix seconds, microsecond precision, as `-T` writes it.
            "timestamp": (bpfkit_output::clock::now_unix_ns() / 1_000) as f64 / 1e6,
            "interval_s": self.interval.as_secs_f64(),
            "programs": programs,
        })
    }
}

/// Runs per second, ns per run and CPU share between two readings.
fn rates(row: &mut Row, before: &Counters, now: &bpfkit_sys::ProgInfo, elapsed: Duration) {
    let runs = now.run_cnt.saturating_sub(before.run_cnt);
    let ns = now.run_time_ns.saturating_sub(before.run_time_ns);
    let secs = elapsed.as_secs_f64().max(1e-9);
    row.runs_per_sec = runs as f64 / secs;
    row.avg_ns = if runs > 0 {
        ns as f64 / runs as f64
    } else {
        0.0
    };
    row.cpu_percent = ns as f64 / (secs * 1e9) * 100.0;
}

/// Recent CPU shares as block characters, scaled to the largest.
fn sparkline(history: &VecDeque<f64>) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = history.iter().copied().fold(0.0, f64::max);
    history
        .iter()
        .map(|&v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// The full-screen view.
mod screen {
    use super::{SortKey, Top, wait};
    use anyhow::Result;
    use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    use ratatui::layout::{Constraint, Layout};
    use ratatui::style::{Modifier, Style};
    use ratatui::text::Line;
    use ratatui::widgets::{Row, Table};
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    /// What the keyboard is doing: commands, or typing a filter.
    enum Input {
        Keys,
        Filter(String),
    }

    /// Restores the terminal however the view ends (error, panic).
    struct Restore;

    impl Drop for Restore {
        fn drop(&mut self) {
            ratatui::restore();
        }
    }

    pub fn run(top: &mut Top, delay: Duration) -> Result<ExitCode> {
        let mut terminal = ratatui::try_init()?;
        let _restore = Restore;
        let mut input = Input::Keys;
        let mut next = Instant::now() + delay;
        loop {
            terminal.draw(|frame| draw(frame, top, &input))?;
            if crate::run::signals::stop_requested().is_some() {
                return Ok(ExitCode::SUCCESS);
            }
            let timeout = next
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            if event::poll(timeout)? {
                if let Event::Key(key) = event::read()?
                    && key.kind == KeyEventKind::Press
                    && !handle(top, &mut input, key.code, key.modifiers)
                {
                    return Ok(ExitCode::SUCCESS);
                }
                continue;
            }
            if Instant::now() >= next {
                if !top.paused {
                    top.sample()?;
                }
                next += delay;
                if next < Instant::now() {
                    next = Instant::now() + delay;
                }
            }
            if !wait(Duration::ZERO) {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }

    /// Applies one key; false to quit.
    fn handle(top: &mut Top, input: &mut Input, code: KeyCode, mods: KeyModifiers) -> bool {
        if code == KeyCode::Char('c') && mods.contains(KeyModifiers::CONTROL) {
            return false;
        }
        if let Input::Filter(text) = input {
            match code {
                KeyCode::Enter => {
                    top.filter = (!text.is_empty()).then(|| text.clone());
                    *input = Input::Keys;
                }
                KeyCode::Esc => *input = Input::Keys,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            }
            return true;
        }
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return false,
            KeyCode::Char('p') | KeyCode::Char(' ') => top.paused = !top.paused,
            KeyCode::Char('s') => top.sort = top.sort.next(),
            KeyCode::Char('c') => top.sort = SortKey::Cpu,
            KeyCode::Char('r') => top.sort = SortKey::Runs,
            KeyCode::Char('a') => top.sort = SortKey::Avg,
            KeyCode::Char('i') => top.sort = SortKey::Id,
            KeyCode::Char('n') => top.sort = SortKey::Name,
            KeyCode::Char('/') => *input = Input::Filter(String::new()),
            _ => {}
        }
        true
    }

    fn draw(frame: &mut ratatui::Frame, top: &Top, input: &Input) {
        let [header, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(Line::from(top.header().trim_end().to_string()), header);
        let rows: Vec<Row> = top
            .shown()
            .into_iter()
            .map(|r| Row::new(Top::cells(r)))
            .collect();
        let widths = [
            Constraint::Length(7),
            Constraint::Length(14),
            Constraint::Min(16),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(super::HISTORY as u16),
            Constraint::Min(10),
        ];
        let table = Table::new(rows, widths)
            .header(Row::new(Top::HEADERS).style(Style::new().add_modifier(Modifier::REVERSED)));
        frame.render_widget(table, body);
        let help = match input {
            Input::Filter(text) => format!("filter: {text}_  (Enter apply, Esc cancel)"),
            Input::Keys => {
                "q quit  p pause  s sort  c/r/a/i/n sort by cpu/runs/avg/id/name  / filter".into()
            }
        };
        frame.render_widget(Line::from(help), footer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_between_two_readings() {
        let mut row = Row {
            id: 1,
            prog_type: "xdp",
            name: "x".into(),
            holders: String::new(),
            run_cnt: 0,
            runs_per_sec: 0.0,
            avg_ns: 0.0,
            cpu_percent: 0.0,
            history: VecDeque::new(),
        };
        let before = Counters {
            run_cnt: 100,
            run_time_ns: 1_000,
        };
        let mut now = bpfkit_sys::ProgInfo {
            id: 1,
            prog_type: 6,
            name: "x".into(),
            tag: [0; 8],
            btf_id: 0,
            map_ids: Vec::new(),
            run_time_ns: 5_001_000,
            run_cnt: 300,
            recursion_misses: 0,
            verified_insns: 0,
            load_time: 0,
            created_by_uid: 0,
            gpl_compatible: true,
            jited_prog_len: 0,
            xlated_prog_len: 0,
            attach_btf_obj_id: 0,
            attach_btf_id: 0,
            ifindex: 0,
            func_type_id: 0,
        };
        rates(&mut row, &before, &now, Duration::from_secs(2));
        assert_eq!(row.runs_per_sec, 100.0);
        assert_eq!(row.avg_ns, 25_000.0);
        assert_eq!(row.cpu_percent, 0.25);
        // Counters that went back (a reused id) give zeros, not garbage.
        now.run_cnt = 5;
        rates(&mut row, &before, &now, Duration::from_secs(1));
        assert_eq!(row.runs_per_sec, 0.0);
        assert_eq!(sparkline(&VecDeque::from([0.0, 1.0, 0.5])), "▁█▅");
        assert!(parse_delay("0").is_err() && parse_delay("500ms").is_ok());
    }
}
