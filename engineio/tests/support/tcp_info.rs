//! What a test's TCP socket received, from the kernel's `TCP_INFO` (Linux):
//! shared by the engine's tests and `socketio-smol`'s.

use std::os::fd::AsRawFd;

/// How many segments carrying data `socket` has received.
pub fn data_segments_in(socket: &impl AsRawFd) -> u32 {
    // SAFETY: `info` is a plain struct of integers, `len` its size, and
    // the descriptor is the caller's open socket.
    let info = unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        info
    };
    info.tcpi_data_segs_in
}
