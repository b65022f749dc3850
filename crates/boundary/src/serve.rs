//! The enclave process's side of [`crate::ChildProcess`]: read calls, answer them.
//!
//! Workers take turns reading: the worker holding the input lock reads one call, releases
//! the lock, and handles that call itself. No call is handed from a reader thread to a
//! worker, which saves a thread wake-up per call (the dominant cost of small calls), while
//! calls still run in parallel on up to `workers` threads.

use crate::EnclaveService;
use crate::Reply;
use crate::call::{CallError, ErrorCode, ONE_WAY, Response};
use crate::push::Pusher;
use crate::wire::read_request;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

/// Read buffer of the call stream.
const INPUT_BUFFER: usize = 64 * 1024;

/// The reply to call `id`: its answer framed and written beside the others (a one-way
/// call's answer goes nowhere). A write that fails is dropped here: the host is gone, and
/// the workers' next read says so.
fn answer_to(id: u64, output: &crate::push::Output) -> Reply {
    if id == ONE_WAY {
        return Reply::new(drop);
    }
    let output = output.clone();
    Reply::new(move |response: Response| {
        // An answer too large for the boundary is refused, not sent with a length that
        // would desynchronize every answer behind it.
        let frame = response
            .encode(id)
            .or_else(|e| Response::Error(CallError::new(ErrorCode::TooLarge, e.to_string())).encode(id));
        if let Ok(frame) = frame {
            let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
            let _ = out.write_all(&frame).and_then(|()| out.flush());
        }
    })
}

/// Serves calls from `input` on `workers` threads, writing answers to `output`, until the
/// input ends (the host closed its end or exited). A malformed call is answered with an
/// error; an unreadable stream ends the loop.
pub fn serve<S: EnclaveService>(
    service: Arc<S>,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
    workers: usize,
) -> std::io::Result<()> {
    serve_pushing(|_| service, input, output, workers)
}

/// Like [`serve`], for a service that pushes records on its own (stream sessions): `make`
/// gets the [`Pusher`] that writes beside the answers and returns the service.
pub fn serve_pushing<S: EnclaveService>(
    make: impl FnOnce(Pusher) -> Arc<S>,
    input: impl Read + Send + 'static,
    output: impl Write + Send + 'static,
    workers: usize,
) -> std::io::Result<()> {
    // Buffered: a call's length, head and small bodies come in one read, not four.
    let input = Arc::new(Mutex::new(std::io::BufReader::with_capacity(INPUT_BUFFER, input)));
    let output: crate::push::Output = Arc::new(Mutex::new(Box::new(output)));
    let service = make(Pusher::stream(output.clone()));
    let handles: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let (input, output, service) = (input.clone(), output.clone(), service.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                loop {
                    let call = read_request(&mut *input.lock().unwrap_or_else(|p| p.into_inner()))?;
                    let Some((id, request)) = call else { return Ok(()) };
                    let reply = answer_to(id, &output);
                    match request {
                        Ok(request) => service.call_later(request, reply),
                        Err(what) => reply.send(Response::Error(CallError::new(ErrorCode::MalformedCall, what))),
                    }
                }
            })
        })
        .collect();
    let mut result = Ok(());
    for h in handles {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(_) => result = Err(std::io::Error::other("a worker panicked")),
        }
    }
    result
}
