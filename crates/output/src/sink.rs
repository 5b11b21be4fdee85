//! Where formatted lines go.

use std::io::{self, Write};

/// A destination for complete output lines. Formatters call
/// [`Sink::write_all`] with one or more whole lines and then
/// [`Sink::flush`], so a sink on a pipe delivers every event at once.
pub trait Sink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

/// In-memory sink, for tests, benchmarks and callers that post-process.
impl Sink for Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink over any writer (stdout, a file, a socket).
pub struct WriteSink<W: Write> {
    inner: W,
}

impl<W: Write> WriteSink<W> {
    pub fn new(inner: W) -> Self {
        WriteSink { inner }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl WriteSink<io::BufWriter<io::Stdout>> {
    /// Buffered stdout; the flush after each line makes it line-buffered.
    pub fn stdout() -> Self {
        WriteSink::new(io::BufWriter::with_capacity(64 * 1024, io::stdout()))
    }
}

impl<W: Write> Sink for WriteSink<W> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
