//! Deleting the clsact qdisc bpfkit created for tc programs on kernels
//! without tcx (aya can add one but not remove it).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const RTM_DELQDISC: u16 = 37;
const TCA_KIND: u16 = 1;
/// `TC_H_CLSACT` (== `TC_H_INGRESS`): the clsact qdisc's parent.
const TC_H_CLSACT: u32 = 0xFFFF_FFF1;
/// The clsact qdisc's own handle, `ffff:0`.
const CLSACT_HANDLE: u32 = 0xFFFF_0000;

/// Deletes the clsact qdisc of interface `ifindex` (and with it any tc
/// filters still on it).
pub fn delete_clsact(ifindex: u32) -> io::Result<()> {
    let sock = open_route_socket()?;
    let request = delete_request(ifindex);
    // SAFETY: the buffer is valid for its length; the kernel is the peer.
    let sent = unsafe { libc::send(sock.as_raw_fd(), request.as_ptr().cast(), request.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    read_ack(&sock)
}

fn open_route_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// nlmsghdr + tcmsg + TCA_KIND "clsact".
fn delete_request(ifindex: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(48);
    // struct tcmsg: family, pad1, pad2, ifindex, handle, parent, info.
    body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    body.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    body.extend_from_slice(&CLSACT_HANDLE.to_ne_bytes());
    body.extend_from_slice(&TC_H_CLSACT.to_ne_bytes());
    body.extend_from_slice(&0u32.to_ne_bytes());
    let kind = b"clsact\0";
    body.extend_from_slice(&((4 + kind.len()) as u16).to_ne_bytes());
    body.extend_from_slice(&TCA_KIND.to_ne_bytes());
    body.extend_from_slice(kind);
    body.resize(body.len().next_multiple_of(4), 0);

    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&RTM_DELQDISC.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel fills it
    msg.extend(body);
    msg
}

/// Reads the NLMSG_ERROR ack; error 0 means success.
fn read_ack(sock: &OwnedFd) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    // SAFETY: buf is valid for writes of its length.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let msg = &buf[..n as usize];
    let msg_type = msg.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let errno = msg
        .get(16..20)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    match (msg_type, errno) {
        (Some(t), Some(0)) if t == libc::NLMSG_ERROR as u16 => Ok(()),
        (Some(t), Some(e)) if t == libc::NLMSG_ERROR as u16 => {
            Err(io::Error::from_raw_os_error(-e))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected netlink reply",
        )),
    }
}
