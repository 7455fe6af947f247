//! Getting syslog messages to the collector: a unix datagram socket, UDP, or TCP with
//! octet-counting framing (RFC 6587: `LEN SP MSG`, which survives newlines in messages,
//! unlike newline framing).
//!
//! The connection is made lazily and dropped on any error; the next send reconnects. That is
//! the whole reconnect strategy: the driver's backoff paces the attempts, so a collector that
//! restarts is picked up again without a dedicated reconnect loop.

use super::config::TransportKind;
use crate::sink::SinkError;
use rustix::net::{recv, RecvFlags};
use std::io;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket, UnixDatagram};

enum Connection {
    Unix(UnixDatagram),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

pub struct Transport {
    kind: TransportKind,
    address: String,
    timeout: Duration,
    connection: Option<Connection>,
}

impl Transport {
    pub fn new(kind: TransportKind, address: &str, timeout: Duration) -> Transport {
        Transport {
            kind,
            address: address.to_string(),
            timeout,
            connection: None,
        }
    }

    /// True for transports that carry one message per datagram (and so have a size limit).
    pub fn is_datagram(&self) -> bool {
        self.kind != TransportKind::Tcp
    }

    /// Sends one message, connecting first if needed.
    pub async fn send(&mut self, message: &[u8]) -> Result<(), SinkError> {
        let sent = tokio::time::timeout(self.timeout, self.try_send(message)).await;
        let error = match sent {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_string(),
        };
        // Whatever went wrong, start from a fresh connection next time.
        self.connection = None;
        Err(SinkError::retryable(format!(
            "syslog {:?} {}: {error}",
            self.kind, self.address
        )))
    }

    async fn try_send(&mut self, message: &[u8]) -> io::Result<()> {
        if let Some(Connection::Tcp(stream)) = &self.connection {
            if peer_closed(stream) {
                self.connection = None;
            }
        }
        if self.connection.is_none() {
            self.connection = Some(self.connect().await?);
        }
        match self.connection.as_mut() {
            Some(Connection::Unix(socket)) => socket.send(message).await.map(drop),
            Some(Connection::Udp(socket)) => socket.send(message).await.map(drop),
            Some(Connection::Tcp(stream)) => {
                let mut frame = format!("{} ", message.len()).into_bytes();
                frame.extend_from_slice(message);
                stream.write_all(&frame).await?;
                stream.flush().await
            }
            None => Err(io::Error::other("not connected")),
        }
    }

    async fn connect(&self) -> io::Result<Connection> {
        Ok(match self.kind {
            TransportKind::Unix => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(&self.address)?;
                Connection::Unix(socket)
            }
            TransportKind::Udp => {
                let target = tokio::net::lookup_host(&self.address)
                    .await?
                    .next()
                    .ok_or_else(|| io::Error::other("address resolves to nothing"))?;
                let local = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = UdpSocket::bind(local).await?;
                socket.connect(target).await?;
                Connection::Udp(socket)
            }
            TransportKind::Tcp => {
                let stream = TcpStream::connect(&self.address).await?;
                stream.set_nodelay(true)?;
                Connection::Tcp(stream)
            }
        })
    }
}

/// True when the collector has closed the connection. A collector never talks back, so an
/// end of stream waiting to be read means it went away; writing anyway would "succeed" into
/// a dead socket and lose the message. Asks the kernel directly (a non-blocking peek), since
/// the runtime may not have noticed the FIN yet.
fn peer_closed(stream: &TcpStream) -> bool {
    let flags = RecvFlags::PEEK | RecvFlags::DONTWAIT;
    matches!(recv(stream, &mut [0u8; 1], flags), Ok((0, _)))
}
