//! Event sources (ring buffers, perf buffers on every online CPU) and the
//! epoll set the run loop waits on.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use aya::maps::{Map, MapData, RingBuf};

use crate::error::{Result, RuntimeError};
use crate::load::error_chain;
use crate::maps::map_data;
use crate::perfbuf::{PerfRecord, PerfRing};

/// Pages per CPU for perf buffers unless told otherwise (256 KiB with 4 KiB
/// pages: what libbpf-tools and bpftrace use).
pub const DEFAULT_PERF_PAGES: usize = 64;

/// Records read from one ring buffer per drain at most. A producer as fast
/// as the reader would otherwise keep one drain going forever, past the
/// deadline and signals; the ring's epoll readiness is level-triggered, so
/// the rest is read on the next turn of the run loop. (A perf buffer drain
/// is bounded by itself: it reads up to the head it saw at the start.)
const RING_BUDGET: u64 = 4096;

/// What the run loop calls back with.
pub(crate) trait Sink {
    /// Returns false to stop reading.
    fn event(&mut self, map: &str, data: &[u8]) -> bool;
    fn lost(&mut self, map: &str, cpu: u32, count: u64);
}

struct RingSource {
    map: String,
    ring: RingBuf<MapData>,
}

struct PerfSource {
    map: String,
    cpu: u32,
    ring: PerfRing,
}

/// All ring and perf buffers of a session.
#[derive(Default)]
pub(crate) struct EventSources {
    rings: Vec<RingSource>,
    perfs: Vec<PerfSource>,
    /// The perf event array maps (their fds must outlive the buffers').
    perf_maps: Vec<Map>,
    /// Perf buffers that wake the reader only every N records need reading
    /// on a timer too, or a trickle of records would wait indefinitely.
    perf_batched: bool,
    /// Where records that wrap around a perf buffer's end are joined.
    scratch: Vec<u8>,
}

/// What a readable fd in the epoll set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    Ring(usize),
    Perf(usize),
    Stop,
    Printk,
    /// The run's output fd reported an error or hang-up.
    OutputClosed,
}

impl Token {
    fn encode(self) -> u64 {
        match self {
            Token::Ring(i) => i as u64,
            Token::Perf(i) => (1 << 32) | i as u64,
            Token::Stop => 2 << 32,
            Token::Printk => 3 << 32,
            Token::OutputClosed => 4 << 32,
        }
    }

    fn decode(v: u64) -> Token {
        let index = (v & 0xFFFF_FFFF) as usize;
        match v >> 32 {
            0 => Token::Ring(index),
            1 => Token::Perf(index),
            2 => Token::Stop,
            3 => Token::Printk,
            _ => Token::OutputClosed,
        }
    }
}

impl EventSources {
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty() && self.perfs.is_empty()
    }

    /// Names of the maps events are read from.
    pub fn map_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.rings.iter().map(|r| r.map.as_str()).collect();
        for p in &self.perfs {
            if !names.contains(&p.map.as_str()) {
                names.push(&p.map);
            }
        }
        names
    }

    pub fn add_ring(&mut self, name: &str, map: Map) -> Result<()> {
        let ring = RingBuf::try_from(map).map_err(|e| RuntimeError::Map {
            map: name.into(),
            message: format!("opening the ring buffer: {}", error_chain(&e)),
        })?;
        self.rings.push(RingSource {
            map: name.into(),
            ring,
        });
        Ok(())
    }

    /// Opens a perf buffer of `pages` pages on every online CPU, each waking
    /// the reader every `wakeup_events` records.
    pub fn add_perf(
        &mut self,
        name: &str,
        map: Map,
        pages: usize,
        wakeup_events: u32,
    ) -> Result<()> {
        let map_error = |what: String, e: &dyn std::fmt::Display| RuntimeError::Map {
            map: name.into(),
            message: format!("{what}: {e}"),
        };
        let cpus = aya::util::online_cpus()
            .map_err(|(path, e)| RuntimeError::io(format!("reading {path}"), e))?;
        let map_fd = map_data(&map).fd().as_fd();
        for cpu in cpus {
            let ring = PerfRing::open(cpu, pages, wakeup_events)
                .map_err(|e| map_error(format!("opening the perf buffer of CPU {cpu}"), &e))?;
            let fd = ring.as_fd().as_raw_fd();
            bpfkit_sys::map_update(
                map_fd,
                &cpu.to_ne_bytes(),
                &fd.to_ne_bytes(),
                bpfkit_sys::BPF_ANY,
            )
            .map_err(|e| map_error(format!("installing the buffer of CPU {cpu}"), &e))?;
            self.perfs.push(PerfSource {
                map: name.into(),
                cpu,
                ring,
            });
        }
        self.perf_maps.push(map);
        self.perf_batched |= wakeup_events > 1;
        Ok(())
    }

    /// Whether perf buffers must also be read on a timer.
    pub fn needs_flush_timer(&self) -> bool {
        self.perf_batched
    }

    /// Drains every perf buffer (the flush timer's work).
    pub fn drain_perf_all(&mut self, sink: &mut dyn Sink) -> (u64, bool) {
        self.drain_each((0..self.perfs.len()).map(Token::Perf), sink)
    }

    /// Adds every buffer's fd to `poller`.
    pub fn register(&self, poller: &Poller) -> Result<()> {
        for (i, r) in self.rings.iter().enumerate() {
            poller.add(r.ring.as_fd(), Token::Ring(i))?;
        }
        for (i, p) in self.perfs.iter().enumerate() {
            poller.add(p.ring.as_fd(), Token::Perf(i))?;
        }
        Ok(())
    }

    /// Hands out everything buffered in source `token`. Returns the number
    /// of events, and false when the sink asked to stop.
    pub fn drain(&mut self, token: Token, sink: &mut dyn Sink) -> (u64, bool) {
        match token {
            Token::Ring(i) => self.drain_ring(i, sink),
            Token::Perf(i) => self.drain_perf(i, sink),
            Token::Stop | Token::Printk | Token::OutputClosed => (0, true),
        }
    }

    /// Drains every source (at the end, so nothing already sent is missed).
    pub fn drain_all(&mut self, sink: &mut dyn Sink) -> (u64, bool) {
        let rings = (0..self.rings.len()).map(Token::Ring);
        self.drain_each(rings.chain((0..self.perfs.len()).map(Token::Perf)), sink)
    }

    /// Drains `tokens` in turn until the sink asks to stop.
    fn drain_each(
        &mut self,
        tokens: impl Iterator<Item = Token>,
        sink: &mut dyn Sink,
    ) -> (u64, bool) {
        let mut total = 0;
        for token in tokens {
            let (n, go_on) = self.drain(token, sink);
            total += n;
            if !go_on {
                return (total, false);
            }
        }
        (total, true)
    }

    fn drain_ring(&mut self, i: usize, sink: &mut dyn Sink) -> (u64, bool) {
        let Some(RingSource { map, ring }) = self.rings.get_mut(i) else {
            return (0, true);
        };
        let mut count = 0;
        while count < RING_BUDGET {
            let Some(item) = ring.next() else { break };
            count += 1;
            if !sink.event(map, &item) {
                return (count, false);
            }
        }
        (count, true)
    }

    fn drain_perf(&mut self, i: usize, sink: &mut dyn Sink) -> (u64, bool) {
        let Some(PerfSource { map, cpu, ring }) = self.perfs.get_mut(i) else {
            return (0, true);
        };
        ring.drain(&mut self.scratch, &mut |record| match record {
            PerfRecord::Sample(data) => sink.event(map, data),
            PerfRecord::Lost(count) => {
                sink.lost(map, *cpu, count);
                true
            }
        })
    }
}

/// An epoll instance.
pub(crate) struct Poller {
    epoll: OwnedFd,
}

impl Poller {
    pub fn new() -> Result<Poller> {
        // SAFETY: plain epoll_create1; the fd is owned right away.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(RuntimeError::io(
                "epoll_create1",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: fd is fresh and owned by nobody else.
        Ok(Poller {
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn add(&self, fd: BorrowedFd<'_>, token: Token) -> Result<()> {
        self.add_raw(fd.as_raw_fd(), token)
    }

    fn add_raw(&self, fd: RawFd, token: Token) -> Result<()> {
        self.ctl_add(fd, libc::EPOLLIN as u32, token)
            .map_err(|e| RuntimeError::io("epoll_ctl", e))
    }

    /// Wakes the loop when the write end `fd` reports an error or a hang-up
    /// (a pipe whose reader is gone): epoll reports both whatever the mask.
    /// Returns false for an fd epoll cannot watch (a regular file, /dev/null),
    /// whose reader never goes away.
    pub fn watch_hangup(&self, fd: RawFd) -> Result<bool> {
        match self.ctl_add(fd, 0, Token::OutputClosed) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(false),
            Err(e) => Err(RuntimeError::io("epoll_ctl (output)", e)),
        }
    }

    fn ctl_add(&self, fd: RawFd, events: u32, token: Token) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events,
            u64: token.encode(),
        };
        // SAFETY: both fds are valid; event is a valid epoll_event.
        let rc =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever) and returns the ready tokens.
    pub fn wait(&self, ready: &mut Vec<Token>, timeout_ms: i32) -> Result<()> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
        // SAFETY: events is a valid array of the given length.
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                timeout_ms,
            )
        };
        ready.clear();
        if n < 0 {
            let err = io::Error::last_os_error();
            // A signal interrupted the wait: the caller checks its flags.
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(RuntimeError::io("epoll_wait", err));
        }
        ready.extend(events[..n as usize].iter().map(|e| Token::decode(e.u64)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for t in [
            Token::Ring(0),
            Token::Ring(7),
            Token::Perf(3),
            Token::Stop,
            Token::Printk,
            Token::OutputClosed,
        ] {
            assert_eq!(Token::decode(t.encode()), t);
        }
    }
}
