//! bpfkit-metrics: Prometheus exposition of what bpfkit knows about a map.
//!
//! [`Exposition`] writes the text format (OpenMetrics 1.0, or Prometheus
//! 0.0.4 for scrapers that do not ask for OpenMetrics); [`write_map`] turns
//! a map decoded by `bpfkit_output::decode_map` (keys as labels with the
//! same meaning `bpfkit run` shows, integer members as counters or gauges,
//! histogram slots as Prometheus histograms) into families, with at most
//! `max_series` series per map.

mod expo;
mod map;

pub use expo::{Exposition, Format, Kind, sanitize_name};
pub use map::{MapMetrics, write_map};
