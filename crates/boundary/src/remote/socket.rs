//! One stream socket of any of the three families, and a listener for each.

use super::Address;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;
use vsock::{VsockAddr, VsockListener, VsockStream};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Socket {
    Unix(UnixStream),
    Tcp(TcpStream),
    Vsock(VsockStream),
}

impl Socket {
    pub(crate) fn connect(address: &Address) -> std::io::Result<Self> {
        Ok(match address {
            Address::Unix(path) => Socket::Unix(UnixStream::connect(path)?),
            Address::Tcp(addr) => {
                let s = TcpStream::connect(addr)?;
                s.set_nodelay(true)?;
                Socket::Tcp(s)
            }
            Address::Vsock { cid, port } => Socket::Vsock(VsockStream::connect(&VsockAddr::new(*cid, *port))?),
        })
    }

    pub(crate) fn try_clone(&self) -> std::io::Result<Self> {
        Ok(match self {
            Socket::Unix(s) => Socket::Unix(s.try_clone()?),
            Socket::Tcp(s) => Socket::Tcp(s.try_clone()?),
            Socket::Vsock(s) => Socket::Vsock(s.try_clone()?),
        })
    }

    pub(crate) fn shutdown(&self) {
        let _ = match self {
            Socket::Unix(s) => s.shutdown(Shutdown::Both),
            Socket::Tcp(s) => s.shutdown(Shutdown::Both),
            Socket::Vsock(s) => s.shutdown(Shutdown::Both),
        };
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Socket::Unix(s) => s.set_write_timeout(t),
            Socket::Tcp(s) => s.set_write_timeout(t),
            Socket::Vsock(s) => s.set_write_timeout(t),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Socket::Unix(s) => s.read(buf),
            Socket::Tcp(s) => s.read(buf),
            Socket::Vsock(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Socket::Unix(s) => s.write(buf),
            Socket::Tcp(s) => s.write(buf),
            Socket::Vsock(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            Socket::Unix(s) => s.write_vectored(bufs),
            Socket::Tcp(s) => s.write_vectored(bufs),
            Socket::Vsock(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where an enclave program waits for its host.
#[derive(Debug)]
pub enum Listener {
    /// A Unix stream socket (its file is removed when the listener is dropped).
    Unix(UnixListener, std::path::PathBuf),
    /// TCP.
    Tcp(TcpListener),
    /// AF_VSOCK.
    Vsock(VsockListener),
}

impl Listener {
    /// Listens on `address`. A Unix socket file left by an earlier run is replaced.
    pub fn bind(address: &Address) -> std::io::Result<Self> {
        Ok(match address {
            Address::Unix(path) => {
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    std::fs::remove_file(path)?;
                }
                Listener::Unix(UnixListener::bind(path)?, path.clone())
            }
            Address::Tcp(addr) => Listener::Tcp(TcpListener::bind(addr)?),
            Address::Vsock { cid, port } => Listener::Vsock(VsockListener::bind(&VsockAddr::new(*cid, *port))?),
        })
    }

    /// The address actually bound (a TCP port 0 becomes the chosen port).
    pub fn local_address(&self) -> std::io::Result<Address> {
        Ok(match self {
            Listener::Unix(_, path) => Address::Unix(path.clone()),
            Listener::Tcp(l) => Address::Tcp(l.local_addr()?.to_string()),
            Listener::Vsock(l) => {
                let a = l.local_addr()?;
                Address::Vsock {
                    cid: a.cid(),
                    port: a.port(),
                }
            }
        })
    }

    /// Waits for the host's connection.
    pub(crate) fn accept(&self) -> std::io::Result<Socket> {
        Ok(match self {
            Listener::Unix(l, _) => Socket::Unix(l.accept()?.0),
            Listener::Tcp(l) => {
                let s = l.accept()?.0;
                s.set_nodelay(true)?;
                Socket::Tcp(s)
            }
            Listener::Vsock(l) => Socket::Vsock(l.accept()?.0),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}
