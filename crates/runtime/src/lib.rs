//! bpfkit-runtime: load a BPF object (with aya), attach every program by its
//! `SEC()` name, read ring/perf buffer events, snapshot maps, stream
//! `bpf_printk` output, and leave nothing behind in the kernel.
//!
//! ```no_run
//! # fn demo(object: &bpfkit_object::Object) -> Result<(), bpfkit_runtime::RuntimeError> {
//! use std::ops::ControlFlow;
//! use bpfkit_runtime::{EventHandler, LoadOptions, RunOptions, Session};
//!
//! struct Print;
//! impl EventHandler for Print {
//!     fn on_event(&mut self, map: &str, data: &[u8]) -> ControlFlow<()> {
//!         println!("{map}: {} bytes", data.len());
//!         ControlFlow::Continue(())
//!     }
//! }
//!
//! let mut session = Session::load(object, &LoadOptions::default())?;
//! for a in session.attachments() {
//!     eprintln!("attached {} to {}", a.program, a.hook);
//! }
//! let summary = session.run(&RunOptions::default(), &mut Print)?;
//! for name in session.maps().names() {
//!     let snapshot = session.maps().snapshot(name)?;
//!     eprintln!("{name}: {} entries", snapshot.entries.len());
//! }
//! # let _ = summary; Ok(()) }
//! ```

mod attach;
pub mod caps;
pub mod error;
mod events;
pub mod features;
mod holders;
mod hooks;
mod load;
mod maps;
mod netlink;
mod own_load;
mod perf_event;
mod perfbuf;
mod printk;
pub mod probe;
mod resolve;
mod run;
mod session;
mod standin;
mod stop;
mod usdt;

pub use error::{Result, RuntimeError, SourceLine, VerifierRejection};
pub use events::DEFAULT_PERF_PAGES;
pub use features::KernelFeatures;
pub use holders::{HolderScanner, holders};
pub use load::error_chain;
pub use maps::{GlobalInfo, MapSnapshot, Maps, can_list};
pub use perf_event::{PerfEventKind, PerfEventSpec};
pub use resolve::resolve_binary;
pub use run::{EventHandler, ExitReason, PERF_FLUSH_INTERVAL, RunOptions, RunSummary};
pub use session::{Attachment, DEFAULT_SAMPLE_FREQ, LoadOptions, Session, Skipped, SyscallRun};
pub use stop::StopHandle;
