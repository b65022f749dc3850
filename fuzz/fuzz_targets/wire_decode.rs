//! Every wire decoder on arbitrary bytes: frames, the three handshake messages, alerts,
//! extension blocks and record headers. Nothing may panic, and a message that decodes must
//! encode back to the same bytes (one encoding per message: what the transcript hashes is
//! what was parsed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sc_protocol::codec::{Codec, Reader};
use sc_protocol::msgs::{
    Alert, ClientFinished, ClientHello, Frame, MAX_FRAME_BODY, RecordHeader, ServerHello, read_extensions,
};

fuzz_target!(|data: &[u8]| {
    let _ = Frame::parse_header(data, MAX_FRAME_BODY);
    if let Ok(frame) = Frame::parse(data, MAX_FRAME_BODY) {
        let _ = frame.session_id();
    }
    if let Ok(ch) = ClientHello::read_exact(data, "client hello") {
        assert_eq!(ch.to_vec().unwrap(), data, "ClientHello re-encodes to its bytes");
    }
    if let Ok((sh, offsets)) = ServerHello::read_with_offsets(data) {
        assert!(offsets.evidence <= offsets.signature && offsets.signature <= offsets.finished);
        assert!(offsets.finished <= data.len());
        let mut out = Vec::new();
        sh.encode_params(&mut out).unwrap();
        sh.encode_evidence_and_extensions(&mut out).unwrap();
        ServerHello::encode_signature(sh.signature, &mut out).unwrap();
        ServerHello::encode_finished(sh.finished, &mut out).unwrap();
        assert_eq!(out, data, "ServerHello re-encodes to its bytes");
    }
    if let Ok(cf) = ClientFinished::read_exact(data, "client finished") {
        assert_eq!(cf.to_vec().unwrap(), data);
    }
    if let Ok(alert) = Alert::read_exact(data, "alert") {
        assert_eq!(alert.to_vec().unwrap(), data);
    }
    let _ = read_extensions(&mut Reader::new(data));
    let _ = RecordHeader::read(data);
});
