//! The operations endpoint (feature `tokio`): HTTP/1.1 on its own listener, for the
//! operator's tools only (Prometheus, a load balancer's health checks), never for clients.
//!
//! | path | answer |
//! |---|---|
//! | `GET /metrics` | every [`HostMetrics`](crate::metrics::HostMetrics) value, OpenMetrics text |
//! | `GET /healthz` | `200 ok` while the process serves requests at all |
//! | `GET /readyz` | `200 ready` when the enclave is attested and answering and the host is not draining; `503` with the reason otherwise |
//!
//! Why a runtime of its own: under a flood of clients the server's runtime is busy by
//! design, and the health checks that tell a load balancer to look elsewhere must still
//! be answered.

use crate::Host;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Requests on one connection of the endpoint must complete within this (a stuck scraper
/// cannot hold the endpoint's thread).
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    r
}

/// The answer to one request.
pub fn route(host: &Host, method: &Method, path: &str) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != Method::GET && method != Method::HEAD {
        return answer(StatusCode::METHOD_NOT_ALLOWED, TEXT, "GET only\n".into());
    }
    match path {
        "/metrics" => {
            host.refresh_gauges();
            answer(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                host.metrics().encode(),
            )
        }
        "/healthz" => answer(StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" if host.is_ready() => answer(StatusCode::OK, TEXT, "ready\n".into()),
        "/readyz" if host.is_draining() => answer(StatusCode::SERVICE_UNAVAILABLE, TEXT, "draining\n".into()),
        "/readyz" => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "enclave not attested or not answering\n".into(),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found: /metrics, /healthz, /readyz\n".into(),
        ),
    }
}

/// Serves the endpoint on `listener` from a thread and runtime of its own, for the life
/// of the process.
pub fn spawn_ops_endpoint(host: Arc<Host>, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener)?
    };
    std::thread::Builder::new().name("sc-ops".into()).spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let host = host.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let r = route(&host, req.method(), req.uri().path());
                        async move { Ok::<_, Infallible>(r) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
                    let _ = tokio::time::timeout(REQUEST_DEADLINE, conn).await;
                });
            }
        })
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sc_boundary::{EnclaveService, InProcess, ProbeEvidence, Request as Call, Response as Answer};

    /// Stands in for an enclave: answers probes (or not).
    struct Probe(bool);
    impl EnclaveService for Probe {
        fn call(&self, _: Call) -> Answer {
            if self.0 {
                Answer::Evidence(ProbeEvidence {
                    platform: sc_protocol::PlatformId(1),
                    evidence: vec![1],
                    collateral: None,
                })
            } else {
                Answer::Error(sc_boundary::CallError::new(sc_boundary::ErrorCode::Attestation, "no"))
            }
        }
    }

    fn host(answers: bool) -> Host {
        Host::new(Arc::new(InProcess::new(Arc::new(Probe(answers)))), Default::default())
    }

    #[test]
    fn readiness_follows_the_probe_and_draining() {
        let h = host(true);
        assert_eq!(
            route(&h, &Method::GET, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(h.check_ready());
        assert_eq!(route(&h, &Method::GET, "/readyz").status(), StatusCode::OK);
        assert_eq!(route(&h, &Method::GET, "/healthz").status(), StatusCode::OK);
        h.start_draining();
        assert_eq!(
            route(&h, &Method::GET, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(route(&h, &Method::GET, "/healthz").status(), StatusCode::OK);
        let failing = host(false);
        assert!(!failing.check_ready());
        assert_eq!(
            route(&failing, &Method::GET, "/readyz").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let h = host(true);
        assert_eq!(route(&h, &Method::GET, "/").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            route(&h, &Method::POST, "/metrics").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        let m = route(&h, &Method::GET, "/metrics");
        assert_eq!(m.status(), StatusCode::OK);
        assert!(
            m.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
    }
}
