//! A small HTTP/1.1 server on loopback for tests of clients that fetch (collateral
//! services): each request's path and query go to a handler that answers, hangs, or
//! refuses; requests are counted; dropping the server stops it (its port then refuses
//! connections, as a service that is down does).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answers with a status, headers and a body.
    Answer {
        /// The status code.
        status: u16,
        /// Extra headers (name, value).
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Reads the request and never answers (until the server stops).
    Hang,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        Self::Answer {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::Answer {
            status: 404,
            headers: Vec::new(),
            body: b"not found".to_vec(),
        }
    }
}

type Handler = dyn Fn(&str) -> Reply + Send + Sync;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts a server answering with `handler` (given the request target: path and query).
    pub fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        listener.set_nonblocking(true).unwrap_or_default();
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("local addr: {e}"));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (handler, stop, requests) = (handler.clone(), stop.clone(), requests.clone());
                            std::thread::spawn(move || serve(stream, &*handler, &stop, &requests));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            addr,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request targets received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, stop: &AtomicBool, requests: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    // Headers, up to the blank line.
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    if let Ok(mut r) = requests.lock() {
        r.push(target.clone());
    }
    match handler(&target) {
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        Reply::Answer { status, headers, body } => {
            let mut out = stream;
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(&body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Reply, Server};
    use std::io::{Read, Write};

    #[test]
    fn answers_and_counts() {
        let server = Server::start(|target| {
            if target == "/a" {
                Reply::ok("hello")
            } else {
                Reply::not_found()
            }
        });
        let mut s = std::net::TcpStream::connect(server.url().trim_start_matches("http://")).unwrap();
        s.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("hello"), "{text}");
        assert_eq!(server.requests(), vec!["/a".to_string()]);
    }
}
