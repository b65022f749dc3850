//! Record seal/open throughput beside raw AES-256-GCM from the same library (ring), so the
//! protocol's overhead is a ratio measured in one run.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sc_protocol::msgs::RECORD_HEADER_LEN;
use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
use sc_protocol::{ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, Session, UnixTime};
use std::hint::black_box;
use std::sync::Arc;

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];
const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);

fn sessions() -> (Session, Session) {
    let v = Arc::new(TestDoubleVerifier::new([1; 32], &[[2; 32]]));
    let client = Arc::new(ClientConfig::builder().verifier(v).build().unwrap());
    let enclave = EnclaveConfig::builder()
        .attester(Arc::new(TestDoubleAttester::new([1; 32], [2; 32])))
        .build()
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (hs, ch) = ClientHandshake::start(client, &mut rng, NOW).unwrap();
    let (p, sh) = EnclaveHandshake::accept(&enclave, 1, &ch, &mut rng, NOW).unwrap();
    let est = hs.read_server_hello(&sh, NOW).unwrap();
    let e = p.read_client_finished(&est.client_finished, NOW).unwrap();
    (est.session, e)
}

fn seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("seal");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9; 32]).unwrap());
        // Raw AEAD on an aligned buffer, and at the offset a record's plaintext has (after
        // its 26-byte header), to separate protocol overhead from memory alignment.
        let mut buf = vec![0u8; size + 16 + RECORD_HEADER_LEN];
        let mut n = 0u64;
        for (name, at) in [
            ("raw_ring_aes256gcm", 0),
            ("raw_ring_aes256gcm_offset26", RECORD_HEADER_LEN),
        ] {
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                b.iter(|| {
                    n += 1;
                    let mut nonce = [0u8; 12];
                    nonce[4..].copy_from_slice(&n.to_be_bytes());
                    let tag = raw
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key(nonce),
                            Aad::from(&[0u8; 26]),
                            &mut buf[at..at + size],
                        )
                        .unwrap();
                    let _ = black_box(tag);
                })
            });
        }
        let (mut client, _) = sessions();
        let mut rec = Vec::with_capacity(Session::record_len(size));
        rec.resize(RECORD_HEADER_LEN + size, 0);
        g.bench_with_input(BenchmarkId::new("record_seal_in_place", size), &size, |b, &size| {
            b.iter(|| {
                // Drop the previous tag; the old ciphertext is the next plaintext, as
                // the raw loop re-encrypts its buffer in place.
                rec.truncate(RECORD_HEADER_LEN + size);
                client.seal_in_place(NOW, &mut rec).unwrap();
                black_box(&rec);
            })
        });
    }
    g.finish();
}

fn open(c: &mut Criterion) {
    let mut g = c.benchmark_group("open");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9; 32]).unwrap());
        let mut sealed = vec![7u8; size];
        let nonce = || Nonce::assume_unique_for_key([0; 12]);
        let tag = raw
            .seal_in_place_separate_tag(nonce(), Aad::from(&[0u8; 26]), &mut sealed)
            .unwrap();
        sealed.extend_from_slice(tag.as_ref());
        let batch = if size >= 16 * 1024 {
            BatchSize::LargeInput
        } else {
            BatchSize::SmallInput
        };
        g.bench_with_input(BenchmarkId::new("raw_ring_aes256gcm", size), &size, |b, _| {
            b.iter_batched(
                || sealed.clone(),
                |mut buf| {
                    black_box(
                        raw.open_in_place(nonce(), Aad::from(&[0u8; 26]), &mut buf)
                            .unwrap()
                            .len(),
                    );
                    buf
                },
                batch,
            )
        });
        let (mut client, mut enclave) = sessions();
        let plaintext = vec![7u8; size];
        g.bench_with_input(BenchmarkId::new("record_open_in_place", size), &size, |b, _| {
            b.iter_batched(
                || client.seal(NOW, &plaintext).unwrap(),
                |mut rec| {
                    black_box(matches!(
                        enclave.open_in_place(NOW, &mut rec).unwrap(),
                        sc_protocol::Incoming::Data(_)
                    ));
                    rec
                },
                batch,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, seal, open);
criterion_main!(benches);
