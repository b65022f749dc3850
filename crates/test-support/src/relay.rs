//! A hostile relay for tests from outside: a TCP proxy between a real client and a real
//! server that parses frames and drops, swaps, duplicates, forges or cuts the n-th record
//! of one direction (`crates/cli/tests/hostile_relay.rs`, the C examples' tests).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};

/// What the relay does to the n-th record (data, Close, SessionAck, EndOfStream) of one
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Relays faithfully.
    Nothing,
    /// The record is not relayed.
    Drop(usize),
    /// The record is relayed after the next one.
    SwapWithNext(usize),
    /// The record is relayed twice.
    Duplicate(usize),
    /// Replaced by a forged Close (the same header, garbage inside).
    ForgeClose(usize),
    /// Replaced by a forged EndOfStream.
    ForgeEndOfStream(usize),
    /// The connection is cut (a FIN) just before this record.
    CutBefore(usize),
}

/// How the relayed connection frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Channel frames as they are (`secure-channel serve`, the Rust and Python clients).
    Channel,
    /// The C examples' framing (`examples/c/sample_msg.h`): a 16-byte header (type, length,
    /// session) around each channel frame.
    Sample,
}

impl Framing {
    /// The header's length and where the payload's length is in it.
    fn layout(self) -> (usize, usize) {
        match self {
            Framing::Channel => (6, 2),
            Framing::Sample => (16, 4),
        }
    }

    /// Where the channel frame starts in a message.
    fn frame_start(self) -> usize {
        match self {
            Framing::Channel => 0,
            Framing::Sample => 16,
        }
    }
}

/// One whole message, or `None` at the end of the stream.
fn read_message(from: &mut TcpStream, framing: Framing) -> Option<Vec<u8>> {
    let (head, at) = framing.layout();
    let mut m = vec![0u8; head];
    from.read_exact(&mut m).ok()?;
    let len = u32::from_be_bytes(m[at..at + 4].try_into().ok()?) as usize;
    m.resize(head + len, 0);
    from.read_exact(&mut m[head..]).ok()?;
    Some(m)
}

/// Relays messages `from` → `to`, doing `tamper` to that direction's records.
fn pump(mut from: TcpStream, mut to: TcpStream, framing: Framing, tamper: Tamper) {
    let start = framing.frame_start();
    let mut n = 0;
    let mut held: Option<Vec<u8>> = None;
    while let Some(mut m) = read_message(&mut from, framing) {
        let is_record = m.get(start).is_some_and(|t| (0x10..=0x13).contains(t));
        if !is_record {
            if to.write_all(&m).is_err() {
                break;
            }
            continue;
        }
        let i = n;
        n += 1;
        let out: Vec<Vec<u8>> = match tamper {
            Tamper::Drop(k) if i == k => vec![],
            Tamper::SwapWithNext(k) if i == k => {
                held = Some(m);
                vec![]
            }
            Tamper::SwapWithNext(k) if i == k + 1 => vec![m, held.take().unwrap_or_default()],
            Tamper::Duplicate(k) if i == k => vec![m.clone(), m],
            Tamper::ForgeClose(k) | Tamper::ForgeEndOfStream(k) if i == k => {
                m[start] = if matches!(tamper, Tamper::ForgeClose(_)) {
                    0x11
                } else {
                    0x13
                };
                let last = m.len() - 1;
                m[last] ^= 0x5a;
                vec![m]
            }
            Tamper::CutBefore(k) if i == k => break,
            _ => vec![m],
        };
        if out.iter().any(|f| to.write_all(f).is_err()) {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A relay to `target` on a loopback port for channel frames: each connection's
/// client-to-server direction gets `up`, its server-to-client direction `down`.
pub fn relay(target: SocketAddr, up: Tamper, down: Tamper) -> SocketAddr {
    relay_framed(target, Framing::Channel, up, down)
}

/// Like [`relay`], for connections framed as `framing`.
pub fn relay_framed(target: SocketAddr, framing: Framing, up: Tamper, down: Tamper) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(target) else { return };
            let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            std::thread::spawn(move || pump(client, server, framing, up));
            std::thread::spawn(move || pump(s2, c2, framing, down));
        }
    });
    addr
}
