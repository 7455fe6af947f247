//! Sending an entry to journald's socket, with the memfd fallback for large entries.
//!
//! An entry is one datagram. When it is larger than the socket accepts (`EMSGSIZE`, or
//! `ENOBUFS` under memory pressure), the protocol's answer is to write it into a sealed
//! memfd and send only the file descriptor (`SCM_RIGHTS`) in an empty datagram; journald
//! reads the entry from the fd. The seals promise journald that the contents cannot change
//! underneath it. This is what `sd_journal_sendv` does.

use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
use rustix::net::SocketAddrUnix;
use rustix::net::{sendmsg_addr, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
use std::fs::File;
use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// Sends `entry` to the journal socket at `path` (blocking; run it off the runtime).
pub fn send_entry(socket: &UnixDatagram, path: &Path, entry: &[u8]) -> io::Result<()> {
    match socket.send_to(entry, path) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(code) if too_big(code)) => {
            send_via_memfd(socket, path, entry)
        }
        Err(e) => Err(e),
    }
}

fn too_big(code: i32) -> bool {
    code == rustix::io::Errno::MSGSIZE.raw_os_error()
        || code == rustix::io::Errno::NOBUFS.raw_os_error()
}

/// Writes `entry` into a sealed memfd and passes the descriptor to journald.
pub fn send_via_memfd(socket: &UnixDatagram, path: &Path, entry: &[u8]) -> io::Result<()> {
    let fd = memfd_create(
        "trailwatch-journal-entry",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = File::from(fd);
    file.write_all(entry)?;
    fcntl_add_seals(
        &file,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    let address = SocketAddrUnix::new(path)?;
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [file.as_fd()];
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("no room for the descriptor"));
    }
    sendmsg_addr(socket, &address, &[], &mut control, SendFlags::empty())?;
    Ok(())
}
