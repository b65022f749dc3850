#!/usr/bin/env python3
"""Independent check of the known-answer vectors against docs/PROTOCOL.md.

Written from the specification only (not from the Rust code), with the Python
`cryptography` package: it parses every frame, recomputes the transcript hashes, report
data, identity signature, key schedule and Finished values, decrypts every record, and
checks the ephemeral public keys against the listed private keys. Exit status 0 means a
second implementation following PROTOCOL.md agrees byte for byte.

Usage: python3 check_vectors.py [path/to/v2.txt]
"""

import hashlib
import hmac
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SUITES = {1: ("aes", "sha256"), 2: ("chacha", "sha256"), 3: ("aes", "sha384")}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        assert self.pos + n <= len(self.data), "truncated"
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, n):
        return int.from_bytes(self.take(n), "big")

    def vec(self, n):
        return self.take(self.int(n))


def frame(data, want_type):
    r = Reader(data)
    assert r.int(1) == want_type and r.int(1) == 1
    body = r.vec(4)
    assert r.pos == len(data)
    return body


def hkdf_extract(h, salt, ikm):
    return hmac.new(salt, ikm, h).digest()


def hkdf_expand(h, prk, info, length):
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), h).digest()
        out += block
        i += 1
    return out[:length]


def expand_label(h, secret, label, context, length):
    full = b"sch1 " + label
    info = struct.pack(">H", length) + bytes([len(full)]) + full + bytes([len(context)]) + context
    return hkdf_expand(h, secret, info, length)


def parse_server_hello(body):
    r = Reader(body)
    sh = {"session_id": r.int(8), "version": r.int(2), "suite": r.int(2), "mode": r.int(1), "nonce": r.take(32)}
    sh["group"], sh["share"] = r.int(2), r.vec(2)
    sh["id_scheme"], sh["id_key"] = r.int(2), r.vec(2)
    sh["E"] = r.pos
    sh["platform"], sh["evidence"] = r.int(2), r.vec(4)
    sh["extensions"] = r.vec(2)
    sh["S"] = r.pos
    sh["signature"] = r.vec(2)
    sh["F"] = r.pos
    sh["finished"] = r.vec(1)
    assert r.pos == len(body)
    return sh


def parse_client_hello(body):
    r = Reader(body)
    ch = {"versions": [r.int(2) for _ in range(r.int(1))], "suites": [r.int(2) for _ in range(r.int(1))]}
    ch["modes"] = [r.int(1) for _ in range(r.int(1))]
    ch["nonce"] = r.take(32)
    ch["shares"] = {}
    for _ in range(r.int(1)):
        group = r.int(2)
        ch["shares"][group] = r.vec(2)
    ch["extensions"] = r.vec(2)
    assert r.pos == len(body)
    return ch


def x25519_public(private):
    key = X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def extension_types(block):
    """The extension codes in an extension block's contents (section 5)."""
    r, types = Reader(block), []
    while r.pos < len(block):
        types.append(r.int(2))
        r.vec(2)
    return types


def check_case(c):
    suite, mode = int(c["suite"].split()[0], 16), int(c["binding_mode"].split()[0])
    aead_name, hash_name = SUITES[suite]
    h = getattr(hashlib, hash_name)
    hlen = h().digest_size
    ch_body = frame(bytes.fromhex(c["client_hello"]), 0x01)
    sh_body = frame(bytes.fromhex(c["server_hello"]), 0x02)
    ch, sh = parse_client_hello(ch_body), parse_server_hello(sh_body)

    assert ch["nonce"].hex() == c["client_nonce"]
    assert sh["nonce"].hex() == c["enclave_nonce"]
    assert sh["session_id"] == int(c["session_id"], 16)
    assert sh["suite"] == suite and sh["mode"] == mode and sh["version"] == 2
    assert ch["versions"] == [2], "only protocol version 2 is offered"
    assert ch["shares"][0x001D] == x25519_public(bytes.fromhex(c["client_x25519_private"]))
    assert sh["share"] == x25519_public(bytes.fromhex(c["enclave_x25519_private"]))

    def th(k):
        return h(struct.pack(">I", len(ch_body)) + ch_body + sh_body[:k]).digest()

    # Attestation binding (section 8): the test-double evidence carries the report data.
    ev = sh["evidence"]
    assert ev[:4] == b"TDBL" and sh["platform"] == 0xFFFE
    assert ev[4:36].hex() == c["test_double_measurement"]
    tag = hmac.new(bytes.fromhex(c["test_double_key"]), ev[:-32], hashlib.sha256).digest()
    assert tag == ev[-32:], "test-double evidence MAC"
    report_data = ev[36:100]
    if mode == 1:
        expected = hashlib.sha512(b"sch1 per-session report data\x00" + th(sh["E"])).digest()
        assert sh["id_scheme"] == 0 and sh["signature"] == b""
    else:
        key = sh["id_key"]
        assert key.hex() == c["identity_public_key"] and sh["id_scheme"] == 1
        expected = hashlib.sha512(
            b"sch1 identity key report data\x00" + struct.pack(">HH", 1, len(key)) + key
        ).digest()
        assert expected.hex() == c["identity_report_data"]
        Ed25519PublicKey.from_public_bytes(key).verify(
            sh["signature"], b"sch1 enclave transcript signature\x00" + th(sh["S"])
        )
    assert report_data == expected, "report data binding"

    # Key schedule (section 9).
    shared = X25519PrivateKey.from_private_bytes(bytes.fromhex(c["client_x25519_private"])).exchange(
        X25519PublicKey.from_public_bytes(sh["share"])
    )
    hs = hkdf_extract(h, b"sch1 handshake", shared)
    s_fin = hmac.new(expand_label(h, hs, b"s finished", b"", hlen), th(sh["F"]), h).digest()
    assert s_fin == sh["finished"], "enclave Finished"
    th_end = th(len(sh_body))
    c_fin = hmac.new(expand_label(h, hs, b"c finished", b"", hlen), th_end, h).digest()
    cf_body = frame(bytes.fromhex(c["client_finished"]), 0x03)
    assert cf_body == struct.pack(">Q", sh["session_id"]) + bytes([hlen]) + c_fin, "client Finished"

    def record_keys(label):
        secret = expand_label(h, hs, label, th_end, hlen)
        return expand_label(h, secret, b"key", b"", 32), expand_label(h, secret, b"iv", b"", 12)

    keys = {"client": record_keys(b"c ap traffic"), "enclave": record_keys(b"s ap traffic")}

    # Records (section 10).
    def open_record(name, sender, want_type):
        rec = bytes.fromhex(c[name])
        assert rec[0] == want_type
        frame(rec, want_type)
        session_id, epoch, seq = struct.unpack(">QIQ", rec[6:26])
        assert session_id == sh["session_id"] and epoch == 0
        key, iv = keys[sender]
        nonce = bytes(a ^ b for a, b in zip(iv, b"\x00" * 4 + struct.pack(">Q", seq)))
        aead = AESGCM(key) if aead_name == "aes" else ChaCha20Poly1305(key)
        return seq, aead.decrypt(nonce, rec[26:], rec[:26])

    # Records are accepted strictly in sequence (section 10): each direction counts from 0
    # with no gap. Close carries u64 received | u8 reason, EndOfStream u64 received: how
    # many of the peer's records its sender had accepted (the vectors open each record as
    # soon as it is sealed, so these are the counts of what the peer had sent by then).
    def close_body(received, reason=0):
        return struct.pack(">QB", received, reason)

    def eos_body(received):
        return struct.pack(">Q", received)

    acked = c["acknowledgements"] == "1"
    enclave_data_seq = 1 if acked else 0
    assert open_record("client_record_0", "client", 0x10) == (0, b"hello enclave")
    assert open_record("client_record_1", "client", 0x10) == (1, b"")
    if c.get("streams") == "1":
        # Streams (section 6): asked for and granted with an empty extension 0x0006; each
        # side ends its stream with an EndOfStream record (type 0x13), and the client's
        # Close follows its EndOfStream.
        assert 0x0006 in extension_types(ch["extensions"])
        assert 0x0006 in extension_types(sh["extensions"])
        assert open_record("client_end_of_stream", "client", 0x13) == (2, eos_body(enclave_data_seq + 1))
        assert open_record("enclave_end_of_stream", "enclave", 0x13) == (enclave_data_seq + 1, eos_body(3))
        assert open_record("client_close", "client", 0x11) == (3, close_body(enclave_data_seq + 2))
    else:
        assert 0x0006 not in extension_types(sh["extensions"])
        assert open_record("client_close", "client", 0x11) == (2, close_body(enclave_data_seq + 1))
    if acked:
        # Acknowledgements (section 6): asked for and granted with an empty extension
        # 0x0005; the enclave's first record is a SessionAck (type 0x12) whose plaintext is
        # an empty extension block, and it answers the client's Close with its own, which
        # says it received all three client records.
        assert 0x0005 in extension_types(ch["extensions"])
        assert 0x0005 in extension_types(sh["extensions"])
        assert open_record("enclave_session_ack", "enclave", 0x12) == (0, b"\x00\x00")
        assert open_record("enclave_record_0", "enclave", 0x10) == (1, b"hello client")
        assert open_record("enclave_close", "enclave", 0x11) == (2, close_body(3))
    else:
        assert 0x0005 not in extension_types(sh["extensions"])
        assert open_record("enclave_record_0", "enclave", 0x10) == (0, b"hello client")

def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("v2.txt")
    cases, current = [], None
    for line in path.read_text().splitlines():
        if line == "[case]":
            current = {}
            cases.append(current)
        elif " = " in line and current is not None:
            k, v = line.split(" = ", 1)
            current[k] = v
    assert len(cases) == 6, "expected six cases"
    for c in cases:
        check_case(c)
        print(f"ok: suite {c['suite']}, binding mode {c['binding_mode']}, acknowledgements {c['acknowledgements']}, streams {c.get('streams', '0')}")


if __name__ == "__main__":
    main()
