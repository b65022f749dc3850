//! The C interface's cost over the Rust API for 64-byte messages on an established client
//! channel: `cc_sec_chl_client_encrypt`/`decrypt` (caller buffers, handle lookup, pointer
//! checks, panic guard) against `Client::encrypt`/`decrypt` (returns a new `Vec`) and
//! `Client::encrypt_into`. Both channels talk to the same in-process enclave.
#![allow(unsafe_code)] // calls the C ABI
#![allow(missing_docs)] // criterion_group! generates undocumented items

#[path = "../tests/support/inproc.rs"]
mod inproc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sc_client::Client;
use sc_ffi_common::status::cc_enclave_result_t::CC_SUCCESS;
use sc_host::Routed;
use sc_protocol::{ClientConfig, Session, UnixTime};
use std::hint::black_box;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

const MESSAGE: [u8; 64] = [0x42; 64];

/// A Rust-API client on the fixture's enclave.
fn rust_client(f: &inproc::Fixture) -> Arc<Client> {
    let policy = sc_attestation::Policy::load(std::path::Path::new(f.policy.to_str().unwrap())).unwrap();
    let verifier = Arc::new(sc_attestation::VerifierRegistry::from_policy(&policy).unwrap());
    let config = Arc::new(
        ClientConfig::builder()
            .verifier(verifier)
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            .build()
            .unwrap(),
    );
    let me = Arc::new(OnceLock::<Weak<Client>>::new());
    let hook_me = me.clone();
    let routes = f.wire.routes.clone();
    let hook = move |m: &[u8]| -> std::io::Result<()> {
        if let Ok(Routed::Reply(r)) = routes.handle(m) {
            if let Some(c) = hook_me.get().and_then(Weak::upgrade) {
                let _ = c.callback(&r);
            }
        }
        Ok(())
    };
    let client = Arc::new(Client::new(config, Box::new(hook), Duration::from_secs(5)));
    let _ = me.set(Arc::downgrade(&client));
    client.init().unwrap();
    client
}

fn bench(c: &mut Criterion) {
    let mut f = inproc::fixture();
    assert_eq!(f.init(), CC_SUCCESS);
    let rust = rust_client(&f);
    let c_session = f.ctx.session_id as u64;
    let rust_session = rust.session_id().unwrap();
    let sessions = f.wire.sessions.clone();

    let mut g = c.benchmark_group("client encrypt 64 B");
    g.bench_function("Rust Client::encrypt (new Vec)", |b| {
        b.iter(|| black_box(rust.encrypt(black_box(&MESSAGE)).unwrap()))
    });
    let mut out = [0u8; Session::record_len(64)];
    g.bench_function("Rust Client::encrypt_into (buffer)", |b| {
        b.iter(|| black_box(rust.encrypt_into(black_box(&MESSAGE), &mut out).unwrap()))
    });
    g.bench_function("C cc_sec_chl_client_encrypt", |b| {
        b.iter(|| {
            let mut len = out.len();
            assert_eq!(f.encrypt(black_box(&MESSAGE), out.as_mut_ptr(), &mut len), CC_SUCCESS);
            black_box(len)
        })
    });
    g.finish();

    // Each decryption needs a fresh record from the enclave (replays are refused); making
    // it is setup, outside the measurement.
    let mut g = c.benchmark_group("client decrypt 64 B");
    g.bench_function("Rust Client::decrypt (new Vec)", |b| {
        b.iter_batched(
            || sessions.encrypt(rust_session, &MESSAGE, UnixTime::now()).unwrap(),
            |r| black_box(rust.decrypt(&r).unwrap()),
            BatchSize::SmallInput,
        )
    });
    let mut plain = [0u8; 64];
    g.bench_function("C cc_sec_chl_client_decrypt", |b| {
        b.iter_batched(
            || sessions.encrypt(c_session, &MESSAGE, UnixTime::now()).unwrap(),
            |r| {
                let mut len = plain.len();
                assert_eq!(f.decrypt(&r, plain.as_mut_ptr(), &mut len), CC_SUCCESS);
                black_box(len)
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
