//! The connection layer: accepting, limiting and timing connections, in front of the router.
//!
//! `axum::serve` sets no timeouts and no cap: a client that sends half a request, or nothing,
//! or keeps a connection idle, holds a socket and a file descriptor for as long as it likes,
//! and a thousand of them starve real requests. Here every connection is bounded:
//!
//! - **header read** — from accepting a connection (or the first byte of a keep-alive
//!   request) to the end of the request's headers: `header_read_timeout` (10 s);
//! - **idle keep-alive** — between the end of a response and the next request's first byte:
//!   `idle_timeout` (60 s);
//! - **body read** — a request body that stalls between two chunks: `body_read_timeout`
//!   (30 s); the handler then sees a body error and answers 400;
//! - **body rate** — a body that keeps trickling: its deadline is `body_read_timeout` after
//!   the request began plus a second for every `body_min_rate` bytes (500) received, so one
//!   byte every few seconds does not hold a connection for ever (as Apache's
//!   `mod_reqtimeout` `MinRate`);
//! - **write progress** — an answer the client does not read: a write that cannot progress
//!   for `write_timeout` (30 s) closes the connection;
//! - **concurrency** — at most `max_connections` at once, and at most
//!   `max_connections_per_address` from one client address (an IPv4 address, an IPv6 /64;
//!   trusted proxies exempt); past either a new connection gets a 503 problem with
//!   `retry-after` and is closed, without spending a task on it;
//! - **open files** — the soft limit is raised to the hard limit at start, and the cap is
//!   kept below it, so `accept` never fails for want of descriptors.
//!
//! Errors hyper answers by itself, before any request reaches the router (a malformed request
//! line or header, an invalid `content-length`, a URI or header section too large), are sent
//! as problem+json like every other error: the connection's writer recognises hyper's
//! bodiless 400/414/431 written while no request is in flight and writes a problem document in
//! its place.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use futures_util::task::AtomicWaker;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use ipnet::IpNet;

use crate::config::ConnectionLimits;
use crate::error::{ApiError, ErrorCode};
use crate::http::RequestId;
use crate::http::client_ip::Network;

/// Descriptors kept free for everything that is not a client connection (database, files,
/// webhook deliveries).
const RESERVED_FDS: u64 = 256;

/// Raises the open-files soft limit to the hard limit and returns the connection cap that
/// fits under it (`max_connections`, or less when the limit is lower).
pub fn fit_connection_cap(max_connections: usize) -> usize {
    let soft = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            tracing::info!(open_files = soft, "open-files limit raised to the hard limit");
            soft
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let room = usize::try_from(soft.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX);
    if room < max_connections {
        tracing::warn!(
            max_connections,
            open_files = soft,
            cap = room,
            "the open-files limit is below the connection cap; serving at most {room} connections"
        );
    }
    max_connections.min(room)
}

/// The connection layer's metrics.
#[derive(Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    refused: Counter,
    refused_per_address: Counter,
    timed_out: Counter,
    write_timed_out: Counter,
    body_too_slow: Counter,
}

impl ConnectionMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "portico_connections_open",
            "Client connections being served",
            metrics.open.clone(),
        );
        for (name, help, counter) in [
            (
                "portico_connections_refused",
                "Connections answered 503 and closed at the connection cap",
                &metrics.refused,
            ),
            (
                "portico_connections_refused_per_address",
                "Connections answered 503 and closed because their address held its share of the cap",
                &metrics.refused_per_address,
            ),
            (
                "portico_connections_timed_out",
                "Connections closed for sending no headers, or no request, in time",
                &metrics.timed_out,
            ),
            (
                "portico_connections_write_timed_out",
                "Connections closed because the client did not read its answer in time",
                &metrics.write_timed_out,
            ),
            (
                "portico_request_bodies_too_slow",
                "Request bodies cut off for arriving slower than the minimum rate",
                &metrics.body_too_slow,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        metrics
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then lets the connections finish
/// their requests (idle ones close at once) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    trusted_proxies: Arc<[IpNet]>,
    metrics: ConnectionMetrics,
    stop: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(AddressShares::new(limits.max_connections_per_address, trusted_proxies));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let Some(share) = per_address.take(peer.ip()) else {
            metrics.refused_per_address.inc();
            refuse(&stream, "This address holds its share of the server's connections; retry shortly.");
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.refused.inc();
            refuse(&stream, "The server is at its connection limit; retry shortly.");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::default());
        let io = TokioIo::new(TimedIo::new(stream, activity.clone(), limits, metrics.clone()));
        let open = metrics.open.clone();
        let service = ConnectionService {
            app: app.clone(),
            peer,
            activity,
            limits,
            body_too_slow: metrics.body_too_slow.clone(),
        };
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            open.inc();
            let mut builder = Builder::new(TokioExecutor::new());
            // Header and idle timeouts are the connection's (`TimedIo`): hyper's would also
            // close idle keep-alive connections at the header timeout.
            builder.http1().header_read_timeout(None);
            let connection = builder.serve_connection_with_upgrades(io, service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::trace!(error = %e, %peer, "connection ended with an error");
            }
            open.dec();
            drop(permit);
            drop(share);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Accept errors: a client that gave up is nothing; anything else (out of descriptors) is
/// logged and waited out briefly, so the loop does not spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// Answers a connection past a cap with a 503 problem and closes it. A fresh socket's send
/// buffer is empty, so the write does not block; if it cannot be written, closing is answer
/// enough.
fn refuse(stream: &TcpStream, detail: &'static str) {
    let bytes = raw_problem(ErrorCode::Unavailable, detail, "retry-after: 1\r\n");
    let _ = stream.try_write(&bytes);
}

/// How many connections each client address holds, against its share of the cap. An address
/// is an IPv4 address or an IPv6 /64 (one subscriber's allocation); trusted proxies, which
/// carry many clients' connections, are not counted.
struct AddressShares {
    limit: usize,
    exempt: Arc<[IpNet]>,
    held: Mutex<HashMap<Network, usize>>,
}

/// One connection's place in its address's share, given back when dropped.
struct Share {
    shares: Arc<AddressShares>,
    network: Option<Network>,
}

impl AddressShares {
    fn new(limit: usize, exempt: Arc<[IpNet]>) -> Self {
        Self { limit: limit.max(1), exempt, held: Mutex::new(HashMap::new()) }
    }

    /// A place for a connection from `ip`; `None` when its address holds its share.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Share> {
        let ip = ip.to_canonical();
        if self.exempt.iter().any(|net| net.contains(&ip)) {
            return Some(Share { shares: self.clone(), network: None });
        }
        let network = Network::from(ip);
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = held.entry(network).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Share { shares: self.clone(), network: Some(network) })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let Some(network) = self.network else { return };
        let mut held = self.shares.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = held.get_mut(&network) {
            *count -= 1;
            if *count == 0 {
                held.remove(&network);
            }
        }
    }
}

/// An HTTP/1.1 problem response, written without hyper (for answers hyper cannot give).
fn raw_problem(code: ErrorCode, detail: &'static str, extra_headers: &str) -> Vec<u8> {
    let request_id = RequestId::generate();
    let mut problem = ApiError::new(code, detail).to_problem();
    problem.request_id = request_id.to_string();
    let body = serde_json::to_vec(&problem).expect("a problem document always serialises");
    let status = code.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\n\
         {extra_headers}connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        crate::error::PROBLEM_JSON,
        body.len(),
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// The problem that replaces hyper's own bodiless answer to a request it could not parse.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    // hyper writes these as a bare head: status line, `content-length: 0`, date, blank line.
    let bare = (head.starts_with(b"HTTP/1.1 ") || head.starts_with(b"HTTP/1.0 "))
        && head.ends_with(b"\r\n\r\n")
        && head.windows(20).any(|w| w.eq_ignore_ascii_case(b"\r\ncontent-length: 0\r"));
    if !bare || head.len() < 12 {
        return None;
    }
    let (code, detail) = match &head[9..12] {
        b"400" => (
            ErrorCode::InvalidRequest,
            "The request could not be parsed as HTTP: a malformed request line, header name or \
             value, or an invalid content-length or transfer-encoding.",
        ),
        b"414" => (ErrorCode::UriTooLong, "The request's URI is too long."),
        b"431" => (ErrorCode::HeadersTooLarge, "The request's header section is too large."),
        _ => return None,
    };
    Some(raw_problem(code, detail, ""))
}

/// Requests begun and ended on one connection: equal when it is between requests.
#[derive(Default)]
struct Activity {
    started: AtomicU64,
    finished: AtomicU64,
    /// The connection's reader, woken when a request ends so that its idle deadline starts
    /// even though no byte arrives.
    reader: AtomicWaker,
}

impl Activity {
    fn begin(self: &Arc<Self>) -> RequestGuard {
        self.started.fetch_add(1, Ordering::AcqRel);
        RequestGuard(self.clone())
    }

    fn is_idle(&self) -> bool {
        self.started.load(Ordering::Acquire) == self.finished.load(Ordering::Acquire)
    }
}

/// Ends a request when dropped: with the response body once it is sent (or abandoned), or
/// with the request's future if the connection goes first.
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        self.0.reader.wake();
    }
}

/// The router, per connection: the peer's address for `ConnectInfo`, the body's timeouts,
/// and the request's begin and end for the connection's timers.
#[derive(Clone)]
struct ConnectionService {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    body_too_slow: Counter,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, std::convert::Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let guard = self.activity.begin();
        let timeout = self.limits.body_read_timeout;
        let min_rate = self.limits.body_min_rate;
        let mut request = request.map(|body| {
            let empty = hyper::body::Body::is_end_stream(&body);
            let body = TimeoutBody::new(timeout, body);
            if min_rate == 0 || empty {
                Body::new(body)
            } else {
                Body::new(MinRateBody::new(body, timeout, min_rate, self.body_too_slow.clone()))
            }
        });
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let answer = self.app.clone().oneshot(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _in_flight = &guard;
                    frame
                }))
            }))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request's headers: the header deadline runs.
    Head,
    /// A request is being served: no deadline here (the body has its own).
    InRequest,
    /// Between requests: the idle deadline runs.
    Idle,
}

/// A client connection with its header and idle deadlines, and the writer that turns hyper's
/// bare error answers into problem documents.
struct TimedIo {
    io: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    phase: Phase,
    /// `activity.started` when the phase was last worked out.
    seen_started: u64,
    deadline: Pin<Box<Sleep>>,
    /// A replacement answer still being written, and how much of it is out.
    replacement: Option<(Vec<u8>, usize)>,
    /// While a write cannot progress (the client does not read): when that must end.
    write_deadline: Option<Pin<Box<Sleep>>>,
    metrics: ConnectionMetrics,
}

impl TimedIo {
    fn new(
        io: TcpStream,
        activity: Arc<Activity>,
        limits: ConnectionLimits,
        metrics: ConnectionMetrics,
    ) -> Self {
        Self {
            io,
            activity,
            limits,
            phase: Phase::Head,
            seen_started: 0,
            deadline: Box::pin(tokio::time::sleep(limits.header_read_timeout)),
            replacement: None,
            write_deadline: None,
            metrics,
        }
    }

    /// A write's outcome, with the write-progress deadline: armed when a write cannot go on,
    /// cleared when one does, and an error once it passes.
    fn progress(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Pending => {
                let timeout = self.limits.write_timeout;
                let deadline =
                    self.write_deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_ready() {
                    self.metrics.write_timed_out.inc();
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read its answer in time",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.write_deadline = None;
                ready
            }
        }
    }

    /// Moves the phase along with the requests the service has begun and ended.
    fn track(&mut self) {
        let started = self.activity.started.load(Ordering::Acquire);
        if started != self.seen_started {
            self.seen_started = started;
            self.phase = Phase::InRequest;
        }
        if self.phase == Phase::InRequest && self.activity.is_idle() {
            self.phase = Phase::Idle;
            self.deadline.as_mut().reset(Instant::now() + self.limits.idle_timeout);
        }
    }

    /// Writes out a pending replacement answer; ready when none is left.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            match Pin::new(&mut self.io).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Whether `head`, written now, is hyper's own answer to an unparseable request; if so it
    /// is replaced.
    fn replace(&mut self, head: &[u8]) -> bool {
        if !self.activity.is_idle() {
            return false;
        }
        match replacement_for(head) {
            Some(bytes) => {
                self.replacement = Some((bytes, 0));
                true
            }
            None => false,
        }
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.track();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if result.is_ok() && buf.filled().len() > before && this.phase == Phase::Idle {
                    // The next request's first bytes: its headers must follow in time.
                    this.phase = Phase::Head;
                    this.deadline.as_mut().reset(Instant::now() + this.limits.header_read_timeout);
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                this.activity.reader.register(cx.waker());
                if this.phase != Phase::InRequest && this.deadline.as_mut().poll(cx).is_ready() {
                    this.metrics.timed_out.inc();
                    let what = if this.phase == Phase::Head { "headers" } else { "a request" };
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the client sent no {what} in time"),
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        if this.replace(buf) {
            // Accepted whole; what is not out yet goes with the next write or flush.
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        if let [only] = bufs
            && this.replace(only)
        {
            let _ = this.poll_replacement(cx)?;
            return Poll::Ready(Ok(only.len()));
        }
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        std::task::ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// A request body with a minimum average rate: its deadline is `grace` after the request
/// began plus a second for every `rate` bytes received. Past it the body ends with an error
/// (the handler answers 400), so a client trickling a byte every few seconds cannot hold a
/// connection for ever. The timer exists only once the body has had to wait.
struct MinRateBody<B> {
    inner: Pin<Box<B>>,
    started: Instant,
    grace: std::time::Duration,
    rate: u32,
    received: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    too_slow: Counter,
}

impl<B> MinRateBody<B> {
    fn new(inner: B, grace: std::time::Duration, rate: u32, too_slow: Counter) -> Self {
        Self {
            inner: Box::pin(inner),
            started: Instant::now(),
            grace,
            rate,
            received: 0,
            deadline: None,
            too_slow,
        }
    }

    fn due(&self) -> Instant {
        let earned = std::time::Duration::from_secs_f64(self.received as f64 / f64::from(self.rate.max(1)));
        self.started + self.grace + earned
    }
}

impl<B> hyper::body::Body for MinRateBody<B>
where
    B: hyper::body::Body<Data = axum::body::Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match this.inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let due = this.due();
                    if let Some(deadline) = this.deadline.as_mut() {
                        deadline.as_mut().reset(due);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let due = this.due();
                let deadline = this.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.too_slow.inc();
                    return Poll::Ready(Some(Err(Box::new(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body arrived slower than the minimum rate",
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bare_parse_errors_are_replaced_and_nothing_else() {
        let bare = |status: &str| {
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\ndate: Sun, 29 Nov 2026 12:00:00 GMT\r\n\r\n")
        };
        for (status, code) in [
            ("400 Bad Request", "invalid_request"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let replaced = replacement_for(bare(status).as_bytes()).expect(status);
            let text = String::from_utf8(replaced).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("HTTP/1.1 {}", &status[..3])), "{head}");
            assert!(head.contains("content-type: application/problem+json"));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            assert!(head.contains("x-request-id: req_"));
            let problem: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(problem["code"], code);
            assert_eq!(problem["status"].to_string(), status[..3]);
        }
        // A response the application wrote is never touched: it has a body.
        let app = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 120\r\n\r\n";
        assert!(replacement_for(app.as_bytes()).is_none());
        assert!(replacement_for(bare("200 OK").as_bytes()).is_none());
        assert!(replacement_for(bare("500 Internal Server Error").as_bytes()).is_none());
        let with_body = format!("{}{{}}", bare("400 Bad Request"));
        assert!(replacement_for(with_body.as_bytes()).is_none());
    }
}
