//! The async client (feature `tokio`): the channel over any `AsyncRead + AsyncWrite`.

use crate::error::ClientError;
use rand_core::OsRng;
use sc_protocol::UnixTime;
use sc_protocol::io::read_message_async;
use sc_protocol::msgs::{FRAME_HEADER_LEN, MAX_FRAME_BODY};
use sc_protocol::{Claims, ClientConfig, ClientHandshake, Session};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

const MAX_MESSAGE: usize = MAX_FRAME_BODY + FRAME_HEADER_LEN;

/// An established channel over an async stream. Every wait has a deadline: the
/// handshake's is given to `connect`, requests get 30 s unless set otherwise.
#[derive(Debug)]
pub struct AsyncClient<S> {
    stream: S,
    session: Session,
    request_timeout: Option<Duration>,
}

/// The request deadline of a new client.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncClient<S> {
    /// Runs the handshake over `stream` (one round trip, and the SessionAck if asked for),
    /// all of it within `timeout`.
    pub async fn connect(mut stream: S, config: Arc<ClientConfig>, timeout: Duration) -> Result<Self, ClientError> {
        // One deadline for the whole handshake (the SessionAck included).
        let deadline = tokio::time::Instant::now() + timeout;
        let (handshake, hello) = ClientHandshake::start(config, &mut OsRng, UnixTime::now())?;
        let exchange = async {
            stream.write_all(&hello).await?;
            read_message_async(&mut stream, MAX_MESSAGE).await
        };
        let reply = tokio::time::timeout_at(deadline, exchange)
            .await
            .map_err(|_| ClientError::HandshakeTimeout)?
            .map_err(|e| ClientError::from_read(e, ClientError::HandshakeTimeout))?
            .ok_or(ClientError::ConnectionClosed)?;
        let mut established = handshake.read_server_hello(&reply, UnixTime::now())?;
        stream
            .write_all(&established.client_finished)
            .await
            .map_err(ClientError::from_write)?;
        if established.session.acknowledged() {
            // Asked for in the config: the enclave's SessionAck comes next.
            let ack = tokio::time::timeout_at(deadline, read_message_async(&mut stream, MAX_MESSAGE))
                .await
                .map_err(|_| ClientError::HandshakeTimeout)?
                .map_err(|e| ClientError::from_read(e, ClientError::HandshakeTimeout))?
                .ok_or(ClientError::ConnectionClosed)?;
            if let Some(refused) = crate::error::peer_alert(&ack) {
                return Err(refused.into());
            }
            established
                .session
                .open_ack(UnixTime::now(), &ack)
                .map_err(|e| ClientError::Handshake(sc_protocol::Error::Acknowledgement(e)))?;
        }
        Ok(Self {
            stream,
            session: established.session,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
        })
    }

    /// Changes the request deadline (`None`: wait for ever).
    pub fn set_request_timeout(&mut self, timeout: Option<Duration>) {
        self.request_timeout = timeout;
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
        let write = self.stream.write_all(&record);
        match self.request_timeout {
            Some(t) => tokio::time::timeout(t, write)
                .await
                .map_err(|_| ClientError::RequestTimeout(t))?,
            None => write.await,
        }
        .map_err(ClientError::from_write)
    }

    /// Receives and decrypts one record, within the request deadline. After a
    /// [`ClientError::RequestTimeout`] the stream may be mid-frame: close it.
    pub async fn recv(&mut self) -> Result<Vec<u8>, ClientError> {
        let read = read_message_async(&mut self.stream, MAX_MESSAGE);
        let read = match self.request_timeout {
            Some(t) => tokio::time::timeout(t, read)
                .await
                .map_err(|_| ClientError::RequestTimeout(t))?,
            None => read.await,
        };
        let record = read
            .map_err(|e| ClientError::from_read(e, ClientError::ConnectionClosed))?
            .ok_or(ClientError::ConnectionClosed)?;
        if let Some(refused) = crate::error::peer_alert(&record) {
            return Err(refused.into());
        }
        Ok(self.session.open(UnixTime::now(), &record)?)
    }

    /// One request, one reply.
    pub async fn request(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.send(plaintext).await?;
        self.recv().await
    }

    /// Closes the session at the server.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let close = self
            .session
            .seal_close(UnixTime::now(), sc_protocol::msgs::CloseReason::Normal)?;
        self.stream.write_all(&close).await.map_err(ClientError::from_write)?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}
