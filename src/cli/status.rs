//! `trailwatch status`: asks the running daemon how it is doing and says so in a short table
//! (or JSON), exiting 1 when something needs attention.
//!
//! The daemon answers on its metrics endpoint (`metrics.listen`, loopback by default) with
//! the `/status` document; this command never opens the state store, which belongs to the
//! daemon while it runs. Unhealthy means: the daemon cannot be reached, the last reload was
//! rejected, the pipeline holds work without progress (a stuck source or stage), or a sink has
//! failed every attempt for longer than `--failing-after-secs` (5 minutes by default).

use super::exit;
use crate::config::Config;
use crate::daemon::status::StatusDocument;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

/// How long the daemon has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Prints the daemon's status; exit 1 when unhealthy or unreachable, 2 on a config error.
pub fn run(
    config: Option<&Path>,
    format: Format,
    failing_after: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<u8> {
    let config = match Config::load(config) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "trailwatch: {e}")?;
            return Ok(exit::CONFIG);
        }
    };
    let document = match fetch(&config.metrics.listen) {
        Ok(d) => d,
        Err(e) => {
            writeln!(
                err,
                "trailwatch: cannot ask the daemon at {}: {e}",
                config.metrics.listen
            )?;
            return Ok(exit::FINDINGS);
        }
    };
    let problems = problems(&document, failing_after);
    match format {
        Format::Json => {
            let mut value = serde_json::to_value(&document).map_err(io::Error::other)?;
            value["problems"] = serde_json::json!(problems);
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Format::Text => super::status_table::print(&document, &problems, out)?,
    }
    Ok(if problems.is_empty() {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

/// What needs attention, one sentence each; empty when all is well.
pub fn problems(doc: &StatusDocument, failing_after: Duration) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(reload) = doc.last_reload.as_ref().filter(|r| !r.ok) {
        problems.push(format!(
            "the last reload was rejected ({} errors); the previous rules and sinks still run",
            reload.errors
        ));
    }
    if !doc.pipeline_healthy {
        problems.push("the pipeline holds work and makes no progress".to_string());
    }
    for sink in &doc.sinks {
        if let Some(since) = sink.failing_since_ms {
            let failing = Duration::from_millis(doc.now_ms.saturating_sub(since));
            if failing >= failing_after {
                problems.push(format!(
                    "sink {} has failed every attempt for {}s",
                    sink.name,
                    failing.as_secs()
                ));
            }
        }
    }
    problems
}

/// GETs `/status` from the endpoint at `listen` (a wildcard address is asked on loopback).
fn fetch(listen: &str) -> io::Result<StatusDocument> {
    let addr = address(listen)?;
    let mut conn = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    conn.set_read_timeout(Some(TIMEOUT))?;
    conn.set_write_timeout(Some(TIMEOUT))?;
    conn.write_all(b"GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other("no HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        let line = head.lines().next().unwrap_or_default();
        return Err(io::Error::other(format!("answered `{line}`")));
    }
    serde_json::from_str(body).map_err(|e| io::Error::other(format!("bad status document: {e}")))
}

fn address(listen: &str) -> io::Result<SocketAddr> {
    let mut addr = listen
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other("no address"))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    Ok(addr)
}
