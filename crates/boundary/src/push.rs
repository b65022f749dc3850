//! The enclave's side of pushes: records for a stream session's client that answer no
//! call, written beside the answers (a [`Pusher`] shares the answer stream's lock).
//!
//! Flow control is the enclave program's part (the host grants room with
//! `Request::Credit`; the program pushes no more than it was granted), so that a slow
//! client stops the program's backend reader rather than the boundary.

use crate::call::{Push, PushSink};
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

/// The answer stream, shared by the workers and the pushers.
pub(crate) type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// Sends pushes to the host. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Pusher(Route);

#[derive(Clone)]
enum Route {
    /// Over the boundary's stream, as a frame beside the answers.
    Stream(Output),
    /// In the same process: straight to the host's sink, once it set one.
    Direct(Arc<RwLock<Option<PushSink>>>),
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Route::Stream(_) => "Pusher(stream)",
            Route::Direct(_) => "Pusher(in process)",
        })
    }
}

impl Pusher {
    pub(crate) fn stream(output: Output) -> Self {
        Self(Route::Stream(output))
    }

    pub(crate) fn direct(sink: Arc<RwLock<Option<PushSink>>>) -> Self {
        Self(Route::Direct(sink))
    }

    /// Sends `record` (sealed for the client of `session_id`) to the host. Fails when the
    /// boundary is gone (the host exited) or the record exceeds the frame limit.
    pub fn push(&self, session_id: u64, record: Vec<u8>) -> std::io::Result<()> {
        let push = Push { session_id, record };
        match &self.0 {
            Route::Stream(output) => {
                let frame = push.encode()?;
                let mut out = output.lock().unwrap_or_else(|p| p.into_inner());
                out.write_all(&frame)?;
                out.flush()
            }
            Route::Direct(sink) => {
                let sink = sink.read().unwrap_or_else(|p| p.into_inner()).clone();
                match sink {
                    Some(sink) => {
                        sink(push);
                        Ok(())
                    }
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::NotConnected,
                        "no host takes pushes from this enclave",
                    )),
                }
            }
        }
    }
}
