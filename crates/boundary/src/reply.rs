//! Answering a call later: a [`Reply`] carries where one call's answer goes, so that a
//! service can take the call, return, and answer from another thread once it can (a
//! record that waits for a slow backend then holds no worker thread of the enclave, and
//! the enclave keeps serving everyone else).

use crate::call::{CallError, ErrorCode, Response};

/// Where the answer to one call goes. Answered at most once, from any thread; a `Reply`
/// dropped unanswered answers with an error, so that no caller waits for ever.
pub struct Reply(Option<Box<dyn FnOnce(Response) + Send>>);

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Reply(waiting)"
        } else {
            "Reply(answered)"
        })
    }
}

impl Reply {
    /// A reply that hands the answer to `deliver`.
    pub fn new(deliver: impl FnOnce(Response) + Send + 'static) -> Self {
        Self(Some(Box::new(deliver)))
    }

    /// Answers the call.
    pub fn send(mut self, answer: Response) {
        if let Some(deliver) = self.0.take() {
            deliver(answer);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(deliver) = self.0.take() {
            deliver(Response::Error(CallError::new(
                ErrorCode::Internal,
                "the enclave dropped the call unanswered (its session ended)",
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn a_reply_answers_once_and_a_dropped_one_answers_with_an_error() {
        let (tx, rx) = channel();
        let tx2 = tx.clone();
        Reply::new(move |r| tx.send(r).unwrap()).send(Response::Done);
        assert!(matches!(rx.recv().unwrap(), Response::Done));
        drop(Reply::new(move |r| tx2.send(r).unwrap()));
        assert!(matches!(rx.recv().unwrap(), Response::Error(e) if e.code == ErrorCode::Internal));
        assert!(rx.try_recv().is_err(), "answered twice");
    }
}
