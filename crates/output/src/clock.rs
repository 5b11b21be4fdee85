//! Kernel timestamps to wall-clock time.
//!
//! `bpf_ktime_get_ns()` reads CLOCK_MONOTONIC and `bpf_ktime_get_boot_ns()`
//! CLOCK_BOOTTIME. Adding (realtime − that clock), measured once when output
//! starts, turns them into Unix time. The offsets drift only when the
//! system clock is stepped, which is acceptable for display.

/// Which kernel clock a timestamp was taken with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelClock {
    /// `bpf_ktime_get_ns()`.
    Monotonic,
    /// `bpf_ktime_get_boot_ns()`.
    Boot,
}

/// Offsets from kernel clocks to Unix time, plus a cache for local-time
/// formatting (one `localtime_r` per distinct second).
#[derive(Debug, Clone)]
pub struct WallClock {
    mono_to_real_ns: i128,
    boot_to_real_ns: i128,
    cached_second: i64,
    cached_hms: [u8; 8],
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// realtime − `clock`, sampled between two reads of `clock` so that a
/// preemption between the reads costs at most half its length.
fn offset_to_realtime(clock: libc::clockid_t) -> i128 {
    let before = clock_ns(clock);
    let real = clock_ns(libc::CLOCK_REALTIME);
    let after = clock_ns(clock);
    real - (before + after) / 2
}

impl WallClock {
    /// Measures the offsets now.
    pub fn now() -> WallClock {
        WallClock::with_offsets(
            offset_to_realtime(libc::CLOCK_MONOTONIC),
            offset_to_realtime(libc::CLOCK_BOOTTIME),
        )
    }

    /// Fixed offsets (for tests and replays).
    pub fn with_offsets(mono_to_real_ns: i128, boot_to_real_ns: i128) -> WallClock {
        WallClock {
            mono_to_real_ns,
            boot_to_real_ns,
            cached_second: i64::MIN,
            cached_hms: *b"00:00:00",
        }
    }

    /// Unix time in nanoseconds of kernel timestamp `ns`.
    pub fn to_unix_ns(&self, clock: KernelClock, ns: u64) -> i128 {
        let offset = match clock {
            KernelClock::Monotonic => self.mono_to_real_ns,
            KernelClock::Boot => self.boot_to_real_ns,
        };
        ns as i128 + offset
    }

    /// Local `HH:MM:SS` of a Unix time in seconds.
    pub fn local_hms(&mut self, unix_s: i64) -> [u8; 8] {
        if unix_s != self.cached_second {
            self.cached_hms = local_hms_uncached(unix_s);
            self.cached_second = unix_s;
        }
        self.cached_hms
    }

    /// Writes the local time of a Unix time as `HH:MM:SS.uuuuuu`.
    pub fn write_local_time(&mut self, unix_ns: i128, out: &mut Vec<u8>) {
        let secs = unix_ns.div_euclid(1_000_000_000) as i64;
        let micros = (unix_ns.rem_euclid(1_000_000_000) / 1000) as u32;
        out.extend_from_slice(&self.local_hms(secs));
        out.push(b'.');
        write_zero_padded(out, micros, 6);
    }

    /// Local `HH:MM:SS` of the current time (libbpf-tools' `-T` column).
    pub fn now_hms(&mut self) -> [u8; 8] {
        self.local_hms(now_unix_ns().div_euclid(1_000_000_000) as i64)
    }

    /// The JSON form of `-T` for a record printed now, as members to put
    /// after the record's `type`: `,"time":"HH:MM:SS","timestamp":S.UUUUUU`
    /// (local time as the table shows it, and Unix seconds as a number).
    pub fn write_json_now(&mut self, out: &mut Vec<u8>) {
        let now = now_unix_ns();
        let secs = now.div_euclid(1_000_000_000);
        let micros = (now.rem_euclid(1_000_000_000) / 1000) as u32;
        out.extend_from_slice(b",\"time\":\"");
        out.extend_from_slice(&self.local_hms(secs as i64));
        out.extend_from_slice(b"\",\"timestamp\":");
        out.extend_from_slice(itoa::Buffer::new().format(secs).as_bytes());
        out.push(b'.');
        write_zero_padded(out, micros, 6);
    }
}

/// The current Unix time in nanoseconds.
pub fn now_unix_ns() -> i128 {
    clock_ns(libc::CLOCK_REALTIME)
}

fn local_hms_uncached(unix_s: i64) -> [u8; 8] {
    // SAFETY: an all-zero tm is a valid value to be overwritten.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t: libc::time_t = unix_s;
    // SAFETY: both pointers are valid for the duration of the call.
    let ok = !unsafe { libc::localtime_r(&t, &mut tm) }.is_null();
    let (h, m, s) = if ok {
        (tm.tm_hour, tm.tm_min, tm.tm_sec)
    } else {
        let day = unix_s.rem_euclid(86_400) as i32;
        (day / 3600, day / 60 % 60, day % 60)
    };
    let mut out = Vec::with_capacity(8);
    for (i, v) in [h, m, s].into_iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        write_zero_padded(&mut out, v.clamp(0, 99) as u32, 2);
    }
    let mut hms = [0u8; 8];
    hms.copy_from_slice(&out);
    hms
}

pub(crate) fn write_zero_padded(out: &mut Vec<u8>, v: u32, digits: u32) {
    for d in (0..digits).rev() {
        out.push(b'0' + (v / 10u32.pow(d) % 10) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_to_unix() {
        let c = WallClock::with_offsets(1_700_000_000_000_000_000, 1_600_000_000_000_000_000);
        assert_eq!(
            c.to_unix_ns(KernelClock::Monotonic, 5_000),
            1_700_000_000_000_005_000
        );
        assert_eq!(
            c.to_unix_ns(KernelClock::Boot, 5_000),
            1_600_000_000_000_005_000
        );
    }

    #[test]
    fn measured_offset_matches_the_clocks() {
        let c = WallClock::now();
        let mono = clock_ns(libc::CLOCK_MONOTONIC);
        let real = clock_ns(libc::CLOCK_REALTIME);
        let converted = c.to_unix_ns(KernelClock::Monotonic, mono as u64);
        // Same instant up to scheduling noise; one second is generous.
        assert!(
            (converted - real).abs() < 1_000_000_000,
            "{converted} vs {real}"
        );
    }

    #[test]
    fn json_time_members() {
        let mut c = WallClock::with_offsets(0, 0);
        let mut line = b"{\"type\":\"x\"".to_vec();
        c.write_json_now(&mut line);
        line.push(b'}');
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["time"].as_str().map(str::len), Some(8), "{v}");
        let ts = v["timestamp"].as_f64().unwrap();
        let now = now_unix_ns() as f64 / 1e9;
        assert!((now - ts).abs() < 60.0, "{ts} vs {now}");
    }

    #[test]
    fn local_time_format() {
        // The local time zone is unknown here: check the shape and the
        // seconds, which no real time zone offset changes.
        let mut c = WallClock::with_offsets(0, 0);
        let mut out = Vec::new();
        c.write_local_time(1_700_000_000_123_456_789, &mut out);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.len(), 15, "{s}");
        assert!(s.ends_with(":20.123456"), "{s}");
        assert_eq!(&s[2..3], ":");
    }
}
