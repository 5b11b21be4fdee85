//! The run loop: one thread, one epoll set with every ring/perf buffer, the
//! stop eventfd and (when the object prints) trace_pipe.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::events::{Poller, Sink, Token};
use crate::maps::Maps;
use crate::printk::TracePipe;
use crate::session::Session;
use crate::stop::SignalGuard;

/// A wakeup that brought at least this many events means a busy producer...
const BUSY_BATCH: u64 = 16;
/// ...and then the reader pauses this long before reading on, so that
/// records pile up. The kernel signals a ring buffer reader only when it
/// had caught up, so a reader that is always caught up costs the producer
/// a wakeup (an IPI in a VM) per record.
const BUSY_PAUSE: Duration = Duration::from_micros(200);

/// The longest a run that ended reads on what the buffers hold: a backlog
/// of a million records takes well under it, a producer that never stops
/// cannot hold the end of the run longer.
const FINAL_DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How often perf buffers that wake the reader only every N records
/// (`LoadOptions::perf_wakeup_events` > 1) are read anyway.
pub const PERF_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// How often the programs' ring buffer drop counters are read (and once
/// more when a run ends).
pub(crate) const DROP_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a run calls back with. Only `on_event` is required.
pub trait EventHandler {
    /// One record from ring buffer or perf buffer `map`: raw bytes, as the
    /// program sent them (perf records may carry trailing alignment bytes).
    fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()>;

    /// The kernel dropped `count` records of perf buffer `map` on `cpu`
    /// because the buffer was full.
    fn on_lost(&mut self, _map: &str, _cpu: u32, _count: u64) {}

    /// The program's drop counter of ring buffer `map` grew by `count`: it
    /// could not reserve room for that many records (see
    /// `bpfkit_object::Object::drop_counters`). Checked once a second and
    /// when the run ends.
    fn on_dropped(&mut self, _map: &str, _count: u64) {}

    /// One `bpf_printk` line from trace_pipe.
    fn on_printk(&mut self, _line: &str) {}

    /// After each batch of records (everything one wakeup delivered): the
    /// place to flush buffered output, so that a burst costs one write.
    /// `Break` ends the run ([`ExitReason::Handler`]): output that cannot be
    /// written (a closed pipe) must not keep the programs attached.
    fn on_batch_end(&mut self) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    /// Every [`RunOptions::interval`]: print and maybe clear maps.
    fn on_interval(&mut self, _maps: &Maps<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Return after this long.
    pub duration: Option<Duration>,
    /// Call [`EventHandler::on_interval`] this often.
    pub interval: Option<Duration>,
    /// Return on SIGINT / SIGTERM (handlers installed for the run only).
    pub handle_signals: bool,
    /// Return after this many events.
    pub max_events: Option<u64>,
    /// Stream `bpf_printk` output (when the object calls it).
    pub printk: bool,
    /// Return (with [`ExitReason::OutputClosed`]) as soon as this fd, where
    /// the output goes, reports an error or hang-up: `bpfkit tool | head -1`
    /// ends when `head` does, not at the next write that may never come.
    pub end_when_closed: Option<RawFd>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            duration: None,
            interval: None,
            handle_signals: true,
            max_events: None,
            printk: true,
            end_when_closed: None,
        }
    }
}

/// Why [`Session::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// SIGINT or SIGTERM (the signal number).
    Signal(i32),
    /// [`RunOptions::duration`] passed.
    Duration,
    /// The handler returned `ControlFlow::Break`.
    Handler,
    /// [`RunOptions::max_events`] reached.
    EventLimit,
    /// A [`crate::StopHandle`] was used.
    Stopped,
    /// [`RunOptions::end_when_closed`]'s fd was closed by its reader.
    OutputClosed,
    /// There is nothing to wait for: no event maps, no interval, no
    /// duration, no printk, and no signal handling.
    NothingToDo,
}

#[derive(Debug, Clone)]
pub struct RunSummary {
    pub exit: ExitReason,
    pub events: u64,
    /// Records lost, per event map: the kernel's Lost records of perf
    /// buffers, and the drop counters programs keep for ring buffers.
    pub lost: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// Counts events and losses on their way to the user's handler.
struct Counting<'h> {
    handler: &'h mut dyn EventHandler,
    events: u64,
    limit: u64,
    lost: BTreeMap<String, u64>,
    handler_stopped: bool,
}

impl Counting<'_> {
    /// Why reading stopped, when the sink said not to go on (`go_on` false).
    fn stop_reason(&self, go_on: bool) -> Option<ExitReason> {
        match (go_on, self.handler_stopped) {
            (true, _) => None,
            (false, true) => Some(ExitReason::Handler),
            (false, false) => Some(ExitReason::EventLimit),
        }
    }

    fn dropped(&mut self, map: &str, count: u64) {
        *self.lost.entry(map.to_string()).or_default() += count;
        self.handler.on_dropped(map, count);
    }
}

impl Sink for Counting<'_> {
    fn event(&mut self, map: &str, data: &[u8]) -> bool {
        self.events += 1;
        if self.handler.on_event(map, data).is_break() {
            self.handler_stopped = true;
            return false;
        }
        self.events < self.limit
    }

    fn lost(&mut self, map: &str, cpu: u32, count: u64) {
        *self.lost.entry(map.to_string()).or_default() += count;
        self.handler.on_lost(map, cpu, count);
    }
}

impl Session {
    /// Reads events until a signal, the duration, the event limit, a stop
    /// handle or the handler ends it. Programs stay attached afterwards, so
    /// the caller can print final map contents.
    pub fn run(&mut self, opts: &RunOptions, handler: &mut dyn EventHandler) -> Result<RunSummary> {
        let start = Instant::now();
        let poller = Poller::new()?;
        self.sources.register(&poller)?;
        poller.add(self.stop.fd(), Token::Stop)?;
        if let Some(fd) = opts.end_when_closed {
            poller.watch_hangup(fd)?;
        }
        let mut pipe = match (opts.printk && self.uses_printk, self.trace_pipe.take()) {
            (false, kept) => {
                self.trace_pipe = kept;
                None
            }
            (true, Some(pipe)) => Some(pipe),
            (true, None) => Some(TracePipe::open()?),
        };
        if let Some(pipe) = &pipe {
            poller.add(pipe.fd(), Token::Printk)?;
        }
        let signals = opts
            .handle_signals
            .then(|| SignalGuard::install(&self.stop))
            .transpose()?;
        let mut sink = Counting {
            handler,
            events: 0,
            limit: opts.max_events.unwrap_or(u64::MAX),
            lost: BTreeMap::new(),
            handler_stopped: false,
        };
        let nothing_to_wait_for = self.sources.is_empty()
            && pipe.is_none()
            && opts.interval.is_none()
            && opts.duration.is_none()
            && !opts.handle_signals;
        let exit = if nothing_to_wait_for {
            Ok(ExitReason::NothingToDo)
        } else {
            self.event_loop(opts, &poller, &mut pipe, &mut sink, start)
        };
        // Kept for the next run, also when this one failed.
        if pipe.is_some() {
            self.trace_pipe = pipe;
        }
        // After the last records, so that the losses come last.
        let checked = self.check_drops(&mut sink);
        // The run is over either way; a write error stays with the handler.
        let _ = sink.handler.on_batch_end();
        let exit = exit?;
        checked?;
        // Consume the stop request, so that the next run starts afresh (a stop
        // that came before this run began ended it right away).
        self.stop.reset();
        let exit = match (exit, signals.as_ref().and_then(SignalGuard::received)) {
            (ExitReason::Stopped, Some(signal)) => ExitReason::Signal(signal),
            (exit, _) => exit,
        };
        Ok(RunSummary {
            exit,
            events: sink.events,
            lost: sink.lost,
            elapsed: start.elapsed(),
        })
    }

    fn event_loop(
        &mut self,
        opts: &RunOptions,
        poller: &Poller,
        pipe: &mut Option<TracePipe>,
        sink: &mut Counting,
        start: Instant,
    ) -> Result<ExitReason> {
        let deadline = opts.duration.and_then(|d| later(start, d));
        // A zero interval would print maps on every turn of the loop.
        let interval = opts.interval.filter(|i| !i.is_zero());
        let mut next_tick = interval.and_then(|i| later(start, i));
        let flush_every = self
            .sources
            .needs_flush_timer()
            .then_some(PERF_FLUSH_INTERVAL);
        let mut next_flush = flush_every.and_then(|f| later(start, f));
        let mut next_drop_check = (!self.drops.is_empty())
            .then(|| later(start, DROP_CHECK_INTERVAL))
            .flatten();
        let mut ready = Vec::with_capacity(64);
        // A record written between attach and registration with epoll raised
        // its readiness before anyone listened and would wait for the next
        // record on its CPU: read whatever is there now.
        let (_, go_on) = self.sources.drain_all(sink);
        if let Some(reason) = sink.stop_reason(go_on) {
            return Ok(reason);
        }
        // That was a batch too: a printer flushes what it read now, not when
        // a later record wakes the loop (which may be never).
        if sink.handler.on_batch_end().is_break() {
            return Ok(ExitReason::Handler);
        }
        loop {
            let wake_at = [deadline, next_tick, next_flush, next_drop_check]
                .into_iter()
                .flatten()
                .min();
            poller.wait(&mut ready, timeout_ms(wake_at))?;
            let mut stop_requested = false;
            let before = sink.events;
            for &token in &ready {
                match token {
                    Token::Stop => stop_requested = true,
                    // Nobody reads what is left: no final drain.
                    Token::OutputClosed => return Ok(ExitReason::OutputClosed),
                    Token::Printk => read_printk(pipe, sink)?,
                    source => {
                        if let Some(reason) = self.drain(source, sink) {
                            return Ok(reason);
                        }
                    }
                }
            }
            if sink.handler.on_batch_end().is_break() {
                return Ok(ExitReason::Handler);
            }
            if stop_requested {
                return Ok(self.final_drain(sink, pipe, ExitReason::Stopped));
            }
            if sink.events - before >= BUSY_BATCH {
                std::thread::sleep(BUSY_PAUSE);
            }
            let now = Instant::now();
            if let (Some(at), Some(every)) = (next_flush, flush_every)
                && now >= at
            {
                next_flush = later(now, every);
                if let Some(reason) = self.flush_perf(sink) {
                    return Ok(reason);
                }
                // Another batch: flushed now, not at the next tick.
                if sink.handler.on_batch_end().is_break() {
                    return Ok(ExitReason::Handler);
                }
            }
            if next_drop_check.is_some_and(|at| now >= at) {
                next_drop_check = later(now, DROP_CHECK_INTERVAL);
                self.check_drops(sink)?;
                if sink.handler.on_batch_end().is_break() {
                    return Ok(ExitReason::Handler);
                }
            }
            if deadline.is_some_and(|d| now >= d) {
                return Ok(self.final_drain(sink, pipe, ExitReason::Duration));
            }
            if let (Some(tick), Some(interval)) = (next_tick, interval)
                && now >= tick
            {
                next_tick = later(tick, interval);
                if sink.handler.on_interval(&self.maps()).is_break() {
                    return Ok(ExitReason::Handler);
                }
            }
        }
    }

    /// Drains one source; `Some(reason)` when reading must stop.
    fn drain(&mut self, token: Token, sink: &mut Counting) -> Option<ExitReason> {
        let (_, go_on) = self.sources.drain(token, sink);
        sink.stop_reason(go_on)
    }

    /// Reports what the programs' ring buffer drop counters gained.
    fn check_drops(&mut self, sink: &mut Counting) -> Result<()> {
        let maps = Maps {
            ebpf: &self.ebpf,
            globals: &self.globals,
        };
        self.drops
            .check(&maps, &mut |ring, count| sink.dropped(ring, count))
    }

    /// Reads every perf buffer; `Some(reason)` when reading must stop.
    fn flush_perf(&mut self, sink: &mut Counting) -> Option<ExitReason> {
        let (_, go_on) = self.sources.drain_perf_all(sink);
        sink.stop_reason(go_on)
    }

    /// Hands out what is already buffered before returning `reason`: read
    /// budget after budget until the buffers are empty, for at most
    /// `FINAL_DRAIN_LIMIT` (the programs are still attached, and a busy
    /// producer would otherwise keep the run alive).
    fn final_drain(
        &mut self,
        sink: &mut Counting,
        pipe: &mut Option<TracePipe>,
        reason: ExitReason,
    ) -> ExitReason {
        let _ = read_printk(pipe, sink);
        let until = later(Instant::now(), FINAL_DRAIN_LIMIT);
        loop {
            let (read, go_on) = self.sources.drain_all(sink);
            if let Some(stopped) = sink.stop_reason(go_on) {
                return stopped;
            }
            if read == 0 || until.is_none_or(|until| Instant::now() >= until) {
                return reason;
            }
        }
    }
}

fn read_printk(pipe: &mut Option<TracePipe>, sink: &mut Counting) -> Result<()> {
    match pipe {
        // What the budget left is read on the next turn (the pipe stays
        // readable).
        Some(pipe) => pipe
            .read_lines(&mut |line| sink.handler.on_printk(line))
            .map(|_| ()),
        None => Ok(()),
    }
}

/// `at + after`, or `None` (never) when that lies beyond what an `Instant`
/// can hold: a duration of 2^64 seconds is "no deadline", not a panic.
fn later(at: Instant, after: Duration) -> Option<Instant> {
    at.checked_add(after)
}

/// Milliseconds until `at` (rounded up, so we never wake just early), or
/// -1 to wait forever.
fn timeout_ms(at: Option<Instant>) -> i32 {
    match at {
        None => -1,
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            let ms = left.as_micros().div_ceil(1000);
            ms.min(i32::MAX as u128) as i32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_beyond_an_instant_are_none() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(1)),
            Some(now + Duration::from_secs(1))
        );
        assert_eq!(later(now, Duration::MAX), None);
        assert_eq!(later(now, Duration::from_secs(u64::MAX)), None);
        assert_eq!(timeout_ms(None), -1);
        assert!(timeout_ms(Some(now + Duration::from_secs(1 << 40))) == i32::MAX);
    }
}
