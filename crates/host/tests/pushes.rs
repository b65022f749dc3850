//! Pushed records through the real TCP server: a stand-in enclave (in process) accepts a
//! handshake by its frames alone and, on each data record, pushes records for the session
//! on its own; the client reads them off its socket, and each write is credited back to
//! the enclave. Only the enclave is a stand-in (the host never looks inside handshake
//! messages or records, so frames with the right headers are all it needs).

use sc_boundary::{ChannelOutcome, EnclaveService, InProcess, Pusher, Request, Response};
use sc_host::{Host, HostLimits};
use sc_protocol::msgs::{MessageType, frame_header};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SESSION: u64 = 0x5e55_1011;

/// A frame of `msg_type` whose body starts with the session id.
fn frame(msg_type: MessageType, session: u64, rest: &[u8]) -> Vec<u8> {
    let mut body = session.to_be_bytes().to_vec();
    body.extend_from_slice(rest);
    let mut f = frame_header(msg_type, body.len() as u32).to_vec();
    f.extend_from_slice(&body);
    f
}

/// Accepts any hello and finished; on a data record pushes `count` records of `size`
/// bytes (each a data frame of the session), then answers nothing.
struct Stand {
    pusher: Pusher,
    credit: Mutex<u64>,
    count: usize,
    size: usize,
}

impl EnclaveService for Stand {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } if message[0] == MessageType::ClientHello.code() => {
                Response::Channel(ChannelOutcome::Accepted {
                    session_id: SESSION,
                    server_hello: frame(MessageType::ServerHello, SESSION, b"hello"),
                })
            }
            Request::Channel { .. } => Response::Channel(ChannelOutcome::Established { ack: None }),
            Request::App { session_id, .. } => {
                for i in 0..self.count {
                    let record = frame(MessageType::ApplicationData, session_id, &vec![i as u8; self.size]);
                    if self.pusher.push(session_id, record).is_err() {
                        break;
                    }
                }
                Response::Done
            }
            Request::Credit { bytes, .. } => {
                *self.credit.lock().unwrap() += u64::from(bytes);
                Response::Done
            }
            _ => Response::Done,
        }
    }
}

#[test]
fn pushed_records_reach_the_client_in_order_and_are_credited() {
    let (count, size) = (50, 1000);
    let stand: Arc<Mutex<Option<Arc<Stand>>>> = Arc::default();
    let keep = stand.clone();
    let enclave = InProcess::pushing(|pusher| {
        let s = Arc::new(Stand {
            pusher,
            credit: Mutex::new(0),
            count,
            size,
        });
        *keep.lock().unwrap() = Some(s.clone());
        s
    });
    let host = Arc::new(Host::new(Arc::new(enclave), HostLimits::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    sc_host::spawn_server(host.clone(), listener).unwrap();

    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut hello = frame_header(MessageType::ClientHello, 4).to_vec();
    hello.extend_from_slice(b"ping");
    s.write_all(&hello).unwrap();
    let mut sh = vec![0u8; 6 + 8 + 5];
    s.read_exact(&mut sh).unwrap();
    assert_eq!(sh[0], MessageType::ServerHello.code());
    s.write_all(&frame(MessageType::ClientFinished, SESSION, &[0; 32]))
        .unwrap();
    // Wait until the host counts the session as established, then send one record.
    let end = Instant::now() + Duration::from_secs(5);
    while host.counts().0 == 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    s.write_all(&frame(MessageType::ApplicationData, SESSION, b"go"))
        .unwrap();
    let one = 6 + 8 + size;
    let mut got = vec![0u8; count * one];
    s.read_exact(&mut got).unwrap();
    for (i, f) in got.chunks(one).enumerate() {
        assert_eq!(
            f[..6],
            frame_header(MessageType::ApplicationData, (8 + size) as u32),
            "record {i}"
        );
        assert!(
            f[14..].iter().all(|&b| b == i as u8),
            "record {i} out of order or altered"
        );
    }
    // Every byte written was credited back to the enclave.
    let stand = stand.lock().unwrap().clone().unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while *stand.credit.lock().unwrap() < (count * one) as u64 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(*stand.credit.lock().unwrap(), (count * one) as u64);
    // A push for a session nobody holds goes nowhere (and breaks nothing).
    drop(s);
    let end = Instant::now() + Duration::from_secs(5);
    while host.connections() > 0 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(stand.pusher.push(SESSION, vec![1, 2, 3]).is_ok());
}
