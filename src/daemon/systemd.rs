//! The systemd notification protocol (`sd_notify`), spoken directly: one datagram per state
//! change to the socket named in `$NOTIFY_SOCKET`. Without systemd (no variable) every call is a
//! no-op, so the daemon runs the same from a terminal.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A handle on the notification socket, if the service manager gave one.
#[derive(Debug)]
pub struct Notifier {
    socket: Option<(UnixDatagram, String)>,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, path))
        });
        Notifier { socket }
    }

    fn send(&self, state: &str) {
        let Some((sock, path)) = &self.socket else {
            return;
        };
        let result = if let Some(abstract_name) = path.strip_prefix('@') {
            send_abstract(sock, abstract_name, state)
        } else {
            sock.send_to(state.as_bytes(), path).map(|_| ())
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, state, "sd_notify failed");
        }
    }

    /// Start-up is complete.
    pub fn ready(&self) {
        self.send("READY=1\nSTATUS=running");
    }

    /// A reload begins; systemd wants the monotonic clock with it (Type=notify-reload).
    pub fn reloading(&self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    pub fn status(&self, text: &str) {
        self.send(&format!("STATUS={text}"));
    }

    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// The interval at which to ping the watchdog: half of `$WATCHDOG_USEC`, if set for us.
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.parse::<u32>().ok()? != std::process::id() {
                return None;
            }
        }
        Some(Duration::from_micros(usec / 2))
    }
}

fn send_abstract(sock: &UnixDatagram, name: &str, state: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    sock.send_to_addr(state.as_bytes(), &addr).map(|_| ())
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is handed.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_states_to_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier {
            socket: Some((UnixDatagram::unbound().unwrap(), path.display().to_string())),
        };
        n.ready();
        n.reloading();
        let mut buf = [0u8; 256];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=running");
        let len = listener.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..len]).unwrap();
        assert!(text.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{text}");
        let usec: u64 = text.rsplit('=').next().unwrap().parse().unwrap();
        assert!(usec > 0);
    }
}
