//! The enclave process's side of [`crate::ChildProcess`]: read calls, answer them.

use crate::EnclaveService;
use crate::call::{CallError, Request, Response, read_frame};
use std::io::{Read, Write};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};

/// Serves calls from `input` on `workers` threads, writing answers to `output`, until the
/// input ends (the host closed the pipe or exited). A malformed call is answered with an
/// error; an unreadable stream ends the loop.
pub fn serve<S: EnclaveService>(
    service: Arc<S>,
    mut input: impl Read,
    output: impl Write + Send + 'static,
    workers: usize,
) -> std::io::Result<()> {
    let output = Arc::new(Mutex::new(output));
    let (tx, rx) = channel::<(u64, u8, Vec<u8>)>();
    let rx = Arc::new(Mutex::new(rx));
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let (rx, service, output) = (rx.clone(), service.clone(), output.clone());
        handles.push(std::thread::spawn(move || {
            loop {
                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((id, kind, body)) = next else { break };
                let response = match Request::decode(kind, &body) {
                    Ok(request) => service.call(request),
                    Err(what) => Response::Error(CallError {
                        code: 1,
                        message: what.into(),
                    }),
                };
                let frame = response.encode(id);
                let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
                if out.write_all(&frame).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
        }));
    }
    let result = loop {
        match read_frame(&mut input) {
            Ok(Some(call)) => {
                if tx.send(call).is_err() {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    drop(tx);
    for h in handles {
        let _ = h.join();
    }
    result
}
