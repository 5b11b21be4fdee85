//! One CPU's perf buffer for a `PERF_EVENT_ARRAY` map. Our own rather than
//! aya's so that the wakeup policy can be chosen: aya (like libbpf) asks the
//! kernel to wake the reader for every record, which costs the producing
//! program an interrupt per record and caps a VM at ~100k records/s.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
pub(crate) const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
/// `struct perf_event_mmap_page`: offsets of data_head and data_tail.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
/// `perf_event_attr` size we pass (PERF_ATTR_SIZE_VER7); the rest is zero.
const ATTR_SIZE: usize = 128;

/// A record of a perf buffer.
pub(crate) enum PerfRecord<'a> {
    /// What `bpf_perf_event_output()` sent (with the kernel's alignment
    /// padding at the end).
    Sample(&'a [u8]),
    /// The kernel dropped this many records: the buffer was full.
    Lost(u64),
}

pub(crate) struct PerfRing {
    fd: OwnedFd,
    /// The metadata page followed by `data_size` bytes of ring.
    base: *mut u8,
    mmap_len: usize,
    page_size: usize,
    data_size: usize,
}

// SAFETY: the mapping is owned by this value alone and only touched through
// &mut self (reads) or atomics (head/tail).
unsafe impl Send for PerfRing {}

impl PerfRing {
    /// Opens the buffer of `cpu`: `pages` pages (a power of two), a wakeup
    /// every `wakeup_events` records.
    pub fn open(cpu: u32, pages: usize, wakeup_events: u32) -> io::Result<PerfRing> {
        let fd = perf_event_open(cpu, wakeup_events.max(1))?;
        // SAFETY: sysconf has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let data_size = page_size * pages;
        let mmap_len = page_size + data_size;
        // SAFETY: mapping a perf event fd we own, with the length the kernel
        // expects (1 + 2^n pages).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mmap_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(PerfRing {
            fd,
            base: base.cast(),
            mmap_len,
            page_size,
            data_size,
        })
    }

    fn control(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: offset is data_head or data_tail: 8-aligned u64s inside
        // the metadata page, shared with the kernel, only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.base.add(offset).cast()) }
    }

    /// Hands every record written so far to `on_record` until it returns
    /// false; returns the number of samples and whether to go on.
    pub fn drain(
        &mut self,
        scratch: &mut Vec<u8>,
        on_record: &mut dyn FnMut(PerfRecord<'_>) -> bool,
    ) -> (u64, bool) {
        let head = self.control(DATA_HEAD).load(Ordering::Acquire);
        let mut tail = self.control(DATA_TAIL).load(Ordering::Relaxed);
        let mut samples = 0;
        let mut go_on = true;
        while tail < head && go_on {
            let Some(size) = self.record_size(tail, head) else {
                // A corrupt header: skip what is there rather than loop.
                tail = head;
                break;
            };
            let record = self.record(tail, size, scratch);
            go_on = match parse(record) {
                Some(PerfRecord::Sample(data)) => {
                    samples += 1;
                    on_record(PerfRecord::Sample(data))
                }
                Some(lost) => on_record(lost),
                None => true,
            };
            tail += size as u64;
        }
        // Releases the space to the kernel once per drain, not per record.
        self.control(DATA_TAIL).store(tail, Ordering::Release);
        (samples, go_on)
    }

    /// The size of the record at `tail`, if its header is sane.
    fn record_size(&self, tail: u64, head: u64) -> Option<usize> {
        let offset = (tail % self.data_size as u64) as usize;
        let mut header = [0u8; 8];
        // Records are 8-byte aligned and the ring's size is a multiple of 8,
        // so a header never wraps.
        self.copy_out(offset, &mut header);
        let size = u16::from_ne_bytes([header[6], header[7]]) as usize;
        (size >= 8 && size as u64 <= head - tail).then_some(size)
    }

    /// The record's bytes: in place, or joined in `scratch` when it wraps.
    fn record<'s>(&'s self, tail: u64, size: usize, scratch: &'s mut Vec<u8>) -> &'s [u8] {
        let offset = (tail % self.data_size as u64) as usize;
        if offset + size <= self.data_size {
            // SAFETY: [offset, offset+size) lies in the ring and belongs to
            // the reader until data_tail moves past it.
            return unsafe {
                std::slice::from_raw_parts(self.base.add(self.page_size + offset), size)
            };
        }
        scratch.resize(size, 0);
        let first = self.data_size - offset;
        self.copy_out(offset, &mut scratch[..first]);
        self.copy_out(0, &mut scratch[first..]);
        scratch
    }

    fn copy_out(&self, offset: usize, out: &mut [u8]) {
        // SAFETY: callers keep offset + out.len() within the ring.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.add(self.page_size + offset),
                out.as_mut_ptr(),
                out.len(),
            )
        };
    }
}

impl AsFd for PerfRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for PerfRing {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping, once.
        unsafe { libc::munmap(self.base.cast(), self.mmap_len) };
    }
}

/// A `PERF_RECORD_SAMPLE` (u32 size, then the raw bytes) or
/// `PERF_RECORD_LOST` (u64 id, u64 count); other types are skipped.
fn parse(record: &[u8]) -> Option<PerfRecord<'_>> {
    let kind = u32::from_ne_bytes(record.get(..4)?.try_into().ok()?);
    match kind {
        PERF_RECORD_SAMPLE => {
            let len = u32::from_ne_bytes(record.get(8..12)?.try_into().ok()?) as usize;
            let end = (12 + len).min(record.len());
            Some(PerfRecord::Sample(&record[12..end]))
        }
        PERF_RECORD_LOST => {
            let lost = u64::from_ne_bytes(record.get(16..24)?.try_into().ok()?);
            Some(PerfRecord::Lost(lost))
        }
        _ => None,
    }
}

/// perf_event_open(2) for a `BPF_OUTPUT` software event on `cpu`.
fn perf_event_open(cpu: u32, wakeup_events: u32) -> io::Result<OwnedFd> {
    let mut attr = [0u64; ATTR_SIZE / 8];
    attr[0] = u64::from(PERF_TYPE_SOFTWARE) | ((ATTR_SIZE as u64) << 32);
    attr[1] = PERF_COUNT_SW_BPF_OUTPUT;
    attr[2] = 1; // sample_period: every record
    attr[3] = PERF_SAMPLE_RAW;
    attr[6] = u64::from(wakeup_events); // wakeup_events (low half), bp_type 0
    if cfg!(target_endian = "big") {
        attr[0] = (u64::from(PERF_TYPE_SOFTWARE) << 32) | ATTR_SIZE as u64;
        attr[6] = u64::from(wakeup_events) << 32;
    }
    // SAFETY: attr is a valid, zero-padded perf_event_attr of ATTR_SIZE bytes.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_and_losses() {
        let mut sample = vec![9, 0, 0, 0, 0, 0, 24, 0, 5, 0, 0, 0];
        sample.extend_from_slice(b"hello\0\0\0\0\0\0\0");
        match parse(&sample) {
            Some(PerfRecord::Sample(data)) => assert_eq!(data, b"hello"),
            _ => panic!("not a sample"),
        }
        let mut lost = vec![2, 0, 0, 0, 0, 0, 24, 0];
        lost.extend_from_slice(&7u64.to_ne_bytes());
        lost.extend_from_slice(&42u64.to_ne_bytes());
        assert!(matches!(parse(&lost), Some(PerfRecord::Lost(42))));
        assert!(parse(&[9, 0, 0]).is_none());
        assert!(parse(&[3, 0, 0, 0, 0, 0, 8, 0]).is_none());
    }
}
