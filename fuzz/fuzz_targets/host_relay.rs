//! The host relay driven by a sequence of connect / message / disconnect / expire
//! operations from several sources, with an in-process enclave: real handshake messages
//! (from seeded clients) and arbitrary bytes, on the right connection or the wrong one.
//! Nothing may panic; the relay's counts stay within its limits and agree with the
//! enclave's.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_boundary::InProcess;
use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
use sc_host::{ConnId, Host, HostLimits, Routed};
use sc_protocol::{ClientHandshake, Established};
use sc_test_support::double;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Arbitrary, Debug)]
enum Op {
    Accept { source: u8 },
    Connect,
    Hello { conn: u8, seed: u8 },
    Finish { conn: u8 },
    Data { conn: u8, len: u8 },
    Close { conn: u8 },
    Raw { conn: u8, bytes: Vec<u8> },
    Disconnect { conn: u8 },
    Expire { secs: u16 },
}

/// A client whose hello the enclave answered: its session, and whether its Finished went
/// through.
type Client = (Box<Established>, bool);

fuzz_target!(|ops: Vec<Op>| {
    // A record that waits for a missing earlier one (raw bytes can place one) holds the
    // in-process call for the order wait: short here, so that a run stays quick.
    let limits = EnclaveLimits {
        order_wait: std::time::Duration::from_millis(5),
        ..EnclaveLimits::default()
    };
    let sessions = Arc::new(SessionManager::new(double::enclave(), None, limits).with_seed(3));
    let mut service = ChannelService::new(sessions.clone(), Arc::new(|| double::NOW));
    service.register(1, Arc::new(|_, r: &[u8]| r.to_vec()));
    let limits = HostLimits {
        max_pending: 4,
        max_pending_per_source: 2,
        max_connections: 6,
        max_connections_per_source: 3,
        max_sessions: 5,
        ..HostLimits::default()
    };
    let start = Instant::now();
    let host = Host::with_clock(
        Arc::new(InProcess::new(Arc::new(service))),
        limits,
        Arc::new(move || start),
    );
    let mut conns: Vec<(ConnId, Option<Client>)> = Vec::new();
    let pick = |conns: &Vec<(ConnId, Option<Client>)>, i: u8| (!conns.is_empty()).then(|| usize::from(i) % conns.len());
    for op in ops.iter().take(48) {
        match op {
            Op::Accept { source } => {
                let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, source % 4));
                if let Ok(id) = host.accept(ip, Arc::new(|| {})) {
                    conns.push((id, None));
                }
            }
            Op::Connect => conns.push((host.connect(), None)),
            Op::Hello { conn, seed } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                let (hs, hello) =
                    ClientHandshake::start(double::client(), &mut double::rng(u64::from(*seed)), double::NOW).unwrap();
                if let Ok(Routed::Reply(sh)) = host.handle(conns[i].0, &hello) {
                    if let Ok(est) = hs.read_server_hello(&sh, double::NOW) {
                        conns[i].1 = Some((Box::new(est), false));
                    }
                } else {
                    conns[i].1 = None;
                }
            }
            Op::Finish { conn } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                let id = conns[i].0;
                if let Some((est, finished)) = &mut conns[i].1 {
                    if host.handle(id, &est.client_finished).is_ok() {
                        *finished = true;
                    }
                }
            }
            Op::Data { conn, len } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                let id = conns[i].0;
                if let Some((est, true)) = &mut conns[i].1 {
                    let record = est.session.seal(double::NOW, &vec![*len; usize::from(*len)]).unwrap();
                    if let Ok(Routed::Reply(reply)) = host.handle(id, &record) {
                        assert_eq!(
                            est.session.open(double::NOW, &reply).unwrap().len(),
                            usize::from(*len)
                        );
                    }
                }
            }
            Op::Close { conn } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                let id = conns[i].0;
                if let Some((est, true)) = &mut conns[i].1 {
                    let close = est.session.seal_close(double::NOW, sc_protocol::msgs::CloseReason::Normal).unwrap();
                    let _ = host.handle(id, &close);
                    conns[i].1 = None;
                }
            }
            Op::Raw { conn, bytes } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                let _ = host.handle(conns[i].0, bytes);
            }
            Op::Disconnect { conn } => {
                let Some(i) = pick(&conns, *conn) else { continue };
                host.disconnect(conns[i].0);
                conns.swap_remove(i);
            }
            Op::Expire { secs } => {
                let _ = host.expire(start + Duration::from_secs(u64::from(*secs)));
            }
        }
        let (open, pending) = host.counts();
        assert!(
            pending <= 4 && open <= 5,
            "counts within the limits: {open} open, {pending} pending"
        );
        // The enclave never holds more than the host admitted.
        assert!(
            sessions.open_sessions() <= open,
            "{} > {open}",
            sessions.open_sessions()
        );
    }
});
