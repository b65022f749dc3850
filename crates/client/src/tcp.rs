//! A ready-made TCP client over [`Client`]: the application-owns-the-network pattern done
//! for the common case. The send hook reads the handshake reply and feeds it to the
//! client's callback on the same thread (no extra thread per connection); afterwards each
//! request is one record out and one record back.

use crate::blocking::{Client, ClientError};
use sc_protocol::ClientConfig;
use sc_protocol::io::read_message;
use std::io::Write;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Largest message accepted from the server.
const MAX_MESSAGE: usize = sc_protocol::msgs::MAX_FRAME_BODY + sc_protocol::msgs::FRAME_HEADER_LEN;

/// A channel over one TCP connection.
#[derive(Debug)]
pub struct TcpClient {
    client: Arc<Client>,
    stream: TcpStream,
    writer: Arc<Mutex<TcpStream>>,
}

impl TcpClient {
    /// Connects, attests the enclave and establishes the channel.
    pub fn connect(
        addr: impl ToSocketAddrs,
        config: Arc<ClientConfig>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let stream = TcpStream::connect(addr).map_err(ClientError::Connection)?;
        stream.set_nodelay(true).map_err(ClientError::Connection)?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(ClientError::Connection)?;
        let writer = Arc::new(Mutex::new(stream.try_clone().map_err(ClientError::Connection)?));
        let reader = Mutex::new(stream.try_clone().map_err(ClientError::Connection)?);
        let (hook_writer, me) = (writer.clone(), Arc::new(OnceLock::<Weak<Client>>::new()));
        let hook_me = me.clone();
        let hook = move |m: &[u8]| -> std::io::Result<()> {
            hook_writer.lock().unwrap_or_else(|p| p.into_inner()).write_all(m)?;
            if m.first() != Some(&sc_protocol::msgs::MessageType::ClientHello.code()) {
                return Ok(());
            }
            // The ClientHello is out: read the reply here and feed it to the client.
            let Some(client) = hook_me.get().and_then(Weak::upgrade) else {
                return Ok(());
            };
            let mut reader = reader.lock().unwrap_or_else(|p| p.into_inner());
            match read_message(&mut *reader, MAX_MESSAGE) {
                Ok(Some(reply)) => {
                    let _ = client.callback(&reply);
                }
                _ => client.connection_lost(),
            }
            Ok(())
        };
        let client = Arc::new(Client::new(config, Box::new(hook), timeout));
        let _ = me.set(Arc::downgrade(&client));
        if let Err(e) = client.init() {
            let _ = stream.shutdown(Shutdown::Both);
            return Err(e);
        }
        stream.set_read_timeout(None).map_err(ClientError::Connection)?;
        Ok(Self { client, stream, writer })
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
            .map_err(ClientError::Connection)
    }

    /// Receives and decrypts the next reply.
    pub fn recv(&mut self) -> Result<Vec<u8>, ClientError> {
        let reply = read_message(&mut self.stream, MAX_MESSAGE)
            .map_err(ClientError::Connection)?
            .ok_or(ClientError::Connection(std::io::ErrorKind::UnexpectedEof.into()))?;
        self.client.decrypt(&reply)
    }

    /// Closes the session at the server and the connection.
    pub fn close(self) -> Result<(), ClientError> {
        let r = self.client.finish();
        let _ = self.stream.shutdown(Shutdown::Both);
        r
    }
}
