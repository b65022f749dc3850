//! A ready-made TCP client over [`Client`]: the application-owns-the-network pattern done
//! for the common case. The send hook reads the handshake reply and feeds it to the
//! client's callback on the same thread (no extra thread per connection); afterwards each
//! request is one record out and one record back. Every wait has a deadline
//! ([`ClientTimeouts`]).

use crate::blocking::Client;
use crate::error::ClientError;
use sc_protocol::ClientConfig;
use sc_protocol::io::read_message;
use sc_protocol::msgs::MessageType;
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Read buffer for replies.
const READ_BUFFER: usize = 16 * 1024;

/// Largest message accepted from the server.
const MAX_MESSAGE: usize = sc_protocol::msgs::MAX_FRAME_BODY + sc_protocol::msgs::FRAME_HEADER_LEN;

/// How long each step of a TCP client may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeouts {
    /// Making the TCP connection (per address tried).
    pub connect: Duration,
    /// From the ClientHello to the verified ServerHello (attestation included).
    pub handshake: Duration,
    /// From sending a request (or calling `recv`) to its reply; `None` waits for ever.
    pub request: Option<Duration>,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            request: Some(Duration::from_secs(30)),
        }
    }
}

/// A channel over one TCP connection.
#[derive(Debug)]
pub struct TcpClient {
    client: Arc<Client>,
    /// Replies are read through a buffer: acknowledgements of pipelined records arrive
    /// together, and one read takes them all (two unbuffered reads per reply cost a
    /// measurable share of a pipelining client's time).
    stream: BufReader<TcpStream>,
    writer: Arc<Mutex<TcpStream>>,
    request_timeout: Option<Duration>,
}

fn connect_any(addr: impl ToSocketAddrs, timeout: Duration) -> Result<TcpStream, ClientError> {
    let mut last = None;
    for a in addr.to_socket_addrs().map_err(ClientError::Connection)? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(ClientError::Connection(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolved to nothing")
    })))
}

impl TcpClient {
    /// Connects, attests the enclave and establishes the channel, allowing `handshake`
    /// for the handshake and the defaults of [`ClientTimeouts`] for the rest.
    pub fn connect(
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        handshake: Duration,
    ) -> Result<Self, ClientError> {
        Self::connect_with(
            addr,
            config,
            ClientTimeouts {
                handshake,
                ..ClientTimeouts::default()
            },
        )
    }

    /// Connects, attests the enclave and establishes the channel within `timeouts`.
    pub fn connect_with(
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeouts: ClientTimeouts,
    ) -> Result<Self, ClientError> {
        let stream = connect_any(addr, timeouts.connect)?;
        stream.set_nodelay(true).map_err(ClientError::Connection)?;
        stream
            .set_read_timeout(Some(timeouts.handshake))
            .map_err(ClientError::Connection)?;
        stream
            .set_write_timeout(Some(timeouts.handshake))
            .map_err(ClientError::Connection)?;
        let writer = Arc::new(Mutex::new(stream.try_clone().map_err(ClientError::Connection)?));
        let reader = Mutex::new(stream.try_clone().map_err(ClientError::Connection)?);
        let (hook_writer, me) = (writer.clone(), Arc::new(OnceLock::<Weak<Client>>::new()));
        let hook_me = me.clone();
        let hook = move |m: &[u8]| -> std::io::Result<()> {
            hook_writer.lock().unwrap_or_else(|p| p.into_inner()).write_all(m)?;
            // The handshake may wait for an answer to what just went out (the ServerHello,
            // or on an acknowledged session the SessionAck): read it here and feed it in.
            let Some(client) = hook_me.get().and_then(Weak::upgrade) else {
                return Ok(());
            };
            let is_handshake = matches!(
                m.first().copied().map(MessageType::from_code),
                Some(Ok(MessageType::ClientHello | MessageType::ClientFinished))
            );
            if !is_handshake || !client.awaits_reply() {
                return Ok(());
            }
            let mut reader = reader.lock().unwrap_or_else(|p| p.into_inner());
            match read_message(&mut *reader, MAX_MESSAGE) {
                Ok(Some(reply)) => {
                    let _ = client.callback(&reply);
                }
                Ok(None) => client.connection_lost(),
                Err(e) => client.connection_failed(&e),
            }
            Ok(())
        };
        let client = Arc::new(Client::new(config, Box::new(hook), timeouts.handshake));
        let _ = me.set(Arc::downgrade(&client));
        if let Err(e) = client.init() {
            let _ = stream.shutdown(Shutdown::Both);
            return Err(match e {
                ClientError::Send(io) => ClientError::from_write(io),
                other => other,
            });
        }
        stream
            .set_read_timeout(timeouts.request)
            .map_err(ClientError::Connection)?;
        stream
            .set_write_timeout(timeouts.request)
            .map_err(ClientError::Connection)?;
        Ok(Self {
            client,
            stream: BufReader::with_capacity(READ_BUFFER, stream),
            writer,
            request_timeout: timeouts.request,
        })
    }

    /// Changes the request deadline (`None`: wait for ever).
    pub fn set_request_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        let stream = self.stream.get_ref();
        stream.set_read_timeout(timeout).map_err(ClientError::Connection)?;
        stream.set_write_timeout(timeout).map_err(ClientError::Connection)?;
        self.request_timeout = timeout;
        Ok(())
    }

    /// The underlying client (session id, claims, encrypt/decrypt).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `request` encrypted and returns the decrypted reply.
    pub fn request(&mut self, request: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.send(request)?;
        self.recv()
    }

    /// Sends one record without waiting for its reply: several may be in flight (the host
    /// pipelines them to the enclave); replies come back in order through [`Self::recv`].
    pub fn send(&self, plaintext: &[u8]) -> Result<(), ClientError> {
        let record = self.client.encrypt(plaintext)?;
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_all(&record)
            .map_err(ClientError::from_write)
    }

    /// Receives and decrypts the next reply, within the request deadline. After a
    /// [`ClientError::RequestTimeout`] the connection may be mid-frame: close it. Replies
    /// are accepted strictly in the order the enclave sealed them, and the enclave seals
    /// them in the order of the requests, so the n-th reply answers the n-th request; a
    /// reply lost, reordered or replayed on the way is an error
    /// ([`sc_protocol::RecordError::OutOfSequence`]) that ends the session.
    pub fn recv(&mut self) -> Result<Vec<u8>, ClientError> {
        let timed_out = ClientError::RequestTimeout(self.request_timeout.unwrap_or(Duration::MAX));
        let reply = read_message(&mut self.stream, MAX_MESSAGE)
            .map_err(|e| ClientError::from_read(e, timed_out))?
            .ok_or(ClientError::ConnectionClosed)?;
        if let Some(refused) = crate::error::peer_alert(&reply) {
            return Err(refused.into());
        }
        let opened = self.client.decrypt(&reply);
        if let Err(e) = &opened {
            if e.ends_session() {
                // Records lost, reordered or forged on the way, or the enclave's Close:
                // nothing more can be accepted, so the connection goes too (the host then
                // drops the session at the enclave).
                let _ = self.stream.get_ref().shutdown(Shutdown::Both);
            }
        }
        opened
    }

    /// A handle that sends on this channel from another thread (a tunnel reads the server
    /// on one thread and sends local bytes on another).
    pub fn sender(&self) -> StreamSender {
        StreamSender {
            client: self.client.clone(),
            writer: self.writer.clone(),
        }
    }

    /// Closes the session at the server and the connection.
    pub fn close(self) -> Result<(), ClientError> {
        let r = self.client.finish();
        let _ = self.stream.get_ref().shutdown(Shutdown::Both);
        r
    }
}

/// Sends on a [`TcpClient`]'s channel from another thread ([`TcpClient::sender`]).
#[derive(Debug, Clone)]
pub struct StreamSender {
    client: Arc<Client>,
    writer: Arc<Mutex<TcpStream>>,
}

impl StreamSender {
    fn write(&self, record: &[u8]) -> Result<(), ClientError> {
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_all(record)
            .map_err(ClientError::from_write)
    }

    /// Sends `plaintext` as one record.
    pub fn send(&self, plaintext: &[u8]) -> Result<(), ClientError> {
        self.write(&self.client.encrypt(plaintext)?)
    }

    /// Ends the client's stream (a half-close; stream sessions only): the server's data
    /// still comes.
    pub fn end_stream(&self) -> Result<(), ClientError> {
        self.write(&self.client.end_stream()?)
    }

    /// Closes the session from this thread (the enclave's Close answers nothing more):
    /// for a stream whose local side failed, so that the far side is told it did not end
    /// normally. Further sends fail.
    pub fn close(&self) -> Result<(), ClientError> {
        self.write(&self.client.close_record()?)
    }

    /// Shuts the connection both ways at once, without a Close: a thread blocked reading
    /// it (in [`TcpClient::recv`]) returns. For abandoning a channel from another thread;
    /// [`TcpClient::close`] ends it properly.
    pub fn shutdown(&self) {
        let _ = self
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .shutdown(Shutdown::Both);
    }
}
