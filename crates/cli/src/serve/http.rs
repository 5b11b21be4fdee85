//! The HTTP side: `/metrics` (gzip when asked), `/healthz`, nothing else.

use super::scrape::scrape;
use super::target::Target;
use anyhow::{Context, Result, anyhow};
use bpfkit_metrics::Format;
use std::io::Write;
use std::time::{Duration, Instant};
use tiny_http::{Header, Request, Response};

/// How often the accept loop checks for a stop signal or the deadline.
const POLL: Duration = Duration::from_millis(100);

pub struct Server {
    inner: tiny_http::Server,
}

impl Server {
    pub fn bind(listen: &str) -> Result<Server> {
        let inner =
            tiny_http::Server::http(listen).map_err(|e| anyhow!("listening on {listen}: {e}"))?;
        Ok(Server { inner })
    }

    pub fn address(&self) -> String {
        self.inner.server_addr().to_string()
    }

    /// Answers requests until a stop signal or the deadline.
    pub fn serve(&self, targets: &[Target], deadline: Option<Instant>) -> Result<()> {
        while !crate::run::stop_requested() && deadline.is_none_or(|d| Instant::now() < d) {
            let request = self
                .inner
                .recv_timeout(POLL)
                .context("waiting for HTTP requests")?;
            if let Some(request) = request {
                // A client that goes away mid-answer is its own problem.
                let _ = answer(request, targets);
            }
        }
        Ok(())
    }
}

fn answer(request: Request, targets: &[Target]) -> std::io::Result<()> {
    let path = request.url().split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let accept = header(&request, "Accept").unwrap_or_default();
            let gzip = header(&request, "Accept-Encoding").is_some_and(|e| accepts_gzip(&e));
            let format = Format::from_accept(&accept);
            match scrape(targets, format) {
                Ok(text) => {
                    let (body, encoding) = if gzip {
                        (gzip_bytes(text.as_bytes())?, Some("gzip"))
                    } else {
                        (text.into_bytes(), None)
                    };
                    let mut response = Response::from_data(body);
                    add_header(&mut response, "Content-Type", format.content_type());
                    if let Some(encoding) = encoding {
                        add_header(&mut response, "Content-Encoding", encoding);
                    }
                    request.respond(response)
                }
                Err(e) => request.respond(
                    Response::from_string(format!("scrape failed: {e:#}\n")).with_status_code(500),
                ),
            }
        }
        "/healthz" => request.respond(Response::from_string("ok\n")),
        "/" => request.respond(Response::from_string(
            "bpfkit serve: metrics at /metrics, health at /healthz\n",
        )),
        _ => request.respond(Response::from_string("not found\n").with_status_code(404)),
    }
}

fn header(request: &Request, name: &'static str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

fn add_header<R: std::io::Read>(response: &mut Response<R>, name: &str, value: &str) {
    // Both are ASCII constants of this module, which tiny_http accepts.
    if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
        response.add_header(header);
    }
}

/// Whether an `Accept-Encoding` value allows gzip (and does not refuse it
/// with `q=0`).
fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|part| {
        let mut fields = part.split(';').map(str::trim);
        fields.next() == Some("gzip") && !fields.any(|f| f == "q=0" || f == "q=0.0")
    })
}

fn gzip_bytes(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=0.8"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
    }
}
