//! Stream sessions from C enclave code (`examples/c/stream_enclave.c`, built with make
//! against `libtsecure_channel.a`), served by the real host with the enclave as its own
//! process and reached by the Rust client over loopback TCP.

use sc_client::{ClientError, TcpClient};
use sc_protocol::RecordError;
use sc_test_support::stack::Stack;
use std::sync::Arc;
use std::time::Duration;

const LINES: usize = 2000;
const LINE_LEN: usize = 4096;

fn stream_enclave(dir: &std::path::Path) -> Stack {
    let bin = sc_ffi_tests::build_examples(dir, "").unwrap();
    Stack::start(&bin.join("stream_enclave"))
}

fn stream_client(stack: &Stack) -> TcpClient {
    let config = Arc::new(stack.client_builder().streams(true).build().unwrap());
    TcpClient::connect(stack.addr, config, Duration::from_secs(10)).unwrap()
}

/// The program's thread pushes a greeting and 8 MB of numbered lines (64 times the push
/// window, so every push past the first 128 KiB waited for the client to read), then ends
/// its direction; a request sent meanwhile is answered among the pushes; the client's end
/// of stream reaches the function as `CC_ERROR_SEC_CHL_END_OF_STREAM`, and the program
/// then ends the session.
#[test]
fn a_c_enclave_streams_to_its_client_within_the_window_and_both_ends_half_close() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stream_enclave(dir.path());
    let mut client = stream_client(&stack);
    let greeting = client.recv().unwrap();
    let id = client.client().session_id().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&greeting),
        format!("hello from the enclave, session {id}\n")
    );
    client.send(b"ping").unwrap();
    let (mut lines, mut answered) = (0, false);
    loop {
        match client.recv() {
            Ok(r) if r == b"PING" => answered = true,
            Ok(line) => {
                assert_eq!(line.len(), LINE_LEN, "line {lines}");
                assert_eq!(&line[..7], format!("{lines:06} ").as_bytes(), "lines in order");
                assert!(line[7..LINE_LEN - 1].iter().all(|&b| b == b'a' + (lines % 26) as u8));
                lines += 1;
            }
            Err(ClientError::Record(RecordError::StreamEnded)) => break,
            Err(e) => panic!("after {lines} lines: {e}"),
        }
    }
    assert_eq!(lines, LINES);
    assert!(answered, "the request sent during the stream was not answered");
    // The enclave's direction ended; the client's still goes: its end of stream reaches
    // the program, which ends the session.
    client.sender().end_stream().unwrap();
    assert!(
        matches!(client.recv(), Err(ClientError::SessionClosed { .. })),
        "the program ends the session at the client's end of stream"
    );
}

/// Inside an application function a push cannot wait (the host's grants need a free
/// worker): more than the window answers `CC_ERROR_SEC_CHL_NO_ROOM` at once, and nothing
/// of it is sent. A session that is not a stream cannot push. The event hook hears of
/// stream sessions that close; request/reply clients are served by the same program.
#[test]
fn a_push_from_a_function_never_waits_and_the_hook_hears_closes() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stream_enclave(dir.path());
    let mut streaming = stream_client(&stack);
    streaming.send(b"flood").unwrap();
    let flood = loop {
        let r = streaming.recv().unwrap();
        if r.len() != LINE_LEN && !r.starts_with(b"hello") {
            break r;
        }
    };
    assert_eq!(String::from_utf8_lossy(&flood), "flood=0x1000e");

    let mut plain = TcpClient::connect(stack.addr, stack.client(), Duration::from_secs(10)).unwrap();
    assert_eq!(plain.request(b"abc").unwrap(), b"ABC");
    assert_eq!(plain.request(b"flood").unwrap(), b"flood=0x5d", "not a stream session");
    assert_eq!(plain.request(b"closed?").unwrap(), b"closed=0");

    // A second stream session that closes while its stream is still going.
    stream_client(&stack).close().unwrap();
    let closed = sc_test_support::eventually(Duration::from_secs(10), || {
        plain.request(b"closed?").unwrap() == b"closed=1"
    });
    assert!(closed, "the hook did not hear the stream session close");
}
