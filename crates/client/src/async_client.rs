//! The async client (feature `tokio`): the channel over any `AsyncRead + AsyncWrite`.

use crate::blocking::ClientError;
use rand_core::OsRng;
use sc_protocol::UnixTime;
use sc_protocol::io::read_message_async;
use sc_protocol::msgs::{FRAME_HEADER_LEN, MAX_FRAME_BODY};
use sc_protocol::{Claims, ClientConfig, ClientHandshake, Session};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

const MAX_MESSAGE: usize = MAX_FRAME_BODY + FRAME_HEADER_LEN;

/// An established channel over an async stream.
#[derive(Debug)]
pub struct AsyncClient<S> {
    stream: S,
    session: Session,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncClient<S> {
    /// Runs the handshake over `stream` (one round trip), within `timeout`.
    pub async fn connect(mut stream: S, config: Arc<ClientConfig>, timeout: Duration) -> Result<Self, ClientError> {
        let (handshake, hello) = ClientHandshake::start(config, &mut OsRng, UnixTime::now())?;
        let exchange = async {
            stream.write_all(&hello).await?;
            read_message_async(&mut stream, MAX_MESSAGE).await
        };
        let reply = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(ClientError::Connection)?
            .ok_or(ClientError::Connection(std::io::ErrorKind::UnexpectedEof.into()))?;
        let established = handshake.read_server_hello(&reply, UnixTime::now())?;
        stream
            .write_all(&established.client_finished)
            .await
            .map_err(ClientError::Connection)?;
        Ok(Self {
            stream,
            session: established.session,
        })
    }

    /// The enclave's verified claims.
    pub fn peer_claims(&self) -> Option<&Claims> {
        self.session.peer_claims()
    }

    /// The session id.
    pub fn session_id(&self) -> u64 {
        self.session.id()
    }

    /// Sends one record.
    pub async fn send(&mut self, plaintext: &[u8]) -> Result<(), ClientError> {
        let record = self.session.seal(UnixTime::now(), plaintext)?;
        self.stream.write_all(&record).await.map_err(ClientError::Connection)
    }

    /// Receives and decrypts one record.
    pub async fn recv(&mut self) -> Result<Vec<u8>, ClientError> {
        let record = read_message_async(&mut self.stream, MAX_MESSAGE)
            .await
            .map_err(ClientError::Connection)?
            .ok_or(ClientError::Connection(std::io::ErrorKind::UnexpectedEof.into()))?;
        self.session
            .open(UnixTime::now(), &record)?
            .ok_or(ClientError::State("the server closed the session"))
    }

    /// One request, one reply.
    pub async fn request(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.send(plaintext).await?;
        self.recv().await
    }

    /// Closes the session at the server.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let close = self.session.seal_close(UnixTime::now())?;
        self.stream.write_all(&close).await.map_err(ClientError::Connection)?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}
