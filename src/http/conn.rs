//! The connection guard: what one TCP connection may cost the server in time
//! and file descriptors, so that slow, idle or abandoned clients on the open
//! internet cannot starve the ones that send a request and go.
//!
//! Each connection is in one of three phases:
//!
//! * **head**: accepted, or the first byte of a next request has arrived,
//!   and the request's headers are not complete yet. It may stay so for the
//!   header timeout.
//! * **in flight**: hyper handed a request to the router; no connection
//!   deadline (handlers end).
//! * **body**: in flight, and the handler is waiting for the request body
//!   (which has its own deadline, see [`super::body`]).
//! * **idle**: a keep-alive connection between requests. It may stay so for
//!   the idle timeout.
//!
//! A watchdog per connection closes it when its phase's deadline passes. We
//! do not use hyper's `header_read_timeout` for this: hyper 1.x arms that
//! timer as soon as a keep-alive connection goes idle (`State::idle` sets
//! `notify_read`, `poll_read_head` starts the timer), so it measures idle
//! time plus header time as one and cannot give them separate budgets.
//!
//! **The cap.** At most `max_connections` are open (the default fits the
//! process's open-files limit, which is raised to its hard limit at start).
//! When a new connection arrives at the cap, the server makes room by
//! closing the connection that has waited longest *for its client*: idle
//! keep-alive connections first (their clients just reconnect), then ones
//! still dribbling their headers (a slowloris), then ones whose body has
//! made no progress for the longest (a stalled upload; nothing of it was
//! accepted). Connections whose request is being handled are never evicted,
//! so a flood of half-open sockets can only push out other half-open
//! sockets, and a client that sends its whole request at once (every
//! browser, `/healthz` probes) is always served. Only when every slot holds
//! a request being handled is a new connection answered `503` at once and
//! closed. Evictions and refusals are counted in /metrics.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::metrics::Metrics;

/// File descriptors kept out of the connection cap for the database, the
/// search index, the metrics listener and the like (at least this many, or a
/// quarter of the limit when that is more, up to 1024).
const MIN_FD_RESERVE: u64 = 128;
/// The default cap never goes above this, whatever the open-files limit:
/// past it, per-connection buffers rather than descriptors are the limit.
const MAX_DEFAULT_CONNECTIONS: u64 = 8192;

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft
/// limit in force afterwards (`None` where it cannot be read).
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            // An unlimited hard limit is refused for NOFILE on Linux (it is
            // capped by fs.nr_open): fall back to a large finite value.
            let targets = [lim.rlim_max, 1 << 20];
            for target in targets {
                if target <= lim.rlim_cur {
                    continue;
                }
                let raised = libc::rlimit {
                    rlim_cur: target,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = target;
                    break;
                }
            }
        }
        #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every target
        Some(lim.rlim_cur as u64)
    }
}

/// The connection cap that fits `open_files` descriptors.
pub(crate) fn default_max_connections(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return 1024;
    };
    let reserve = (limit / 4).clamp(MIN_FD_RESERVE, 1024);
    limit
        .saturating_sub(reserve)
        .clamp(16, MAX_DEFAULT_CONNECTIONS) as usize
}

const HEAD: u8 = 0;
const IN_FLIGHT: u8 = 1;
const IDLE: u8 = 2;
const BODY: u8 = 3;

tokio::task_local! {
    /// The connection whose request the current task is handling, so that
    /// the body reader can say when it waits for the client.
    static CURRENT: Arc<ConnState>;
}

/// Runs a request's handler with its connection known to [`awaiting_body`].
pub(crate) async fn handling<F: Future>(state: Arc<ConnState>, handler: F) -> F::Output {
    CURRENT.scope(state, handler).await
}

/// Marks the current request as waiting for its body until the returned
/// value is dropped (nothing when called outside [`handling`]).
pub(crate) fn awaiting_body() -> Option<BodyWait> {
    let state = CURRENT.try_with(|s| s.clone()).ok()?;
    state.enter(BODY);
    Some(BodyWait(state))
}

/// A handler waiting for body bytes; see [`awaiting_body`].
pub(crate) struct BodyWait(Arc<ConnState>);

impl BodyWait {
    /// Body bytes arrived: the wait for the client starts again.
    pub(crate) fn progress(&self) {
        self.0
            .since_ms
            .store(self.0.guard.now_ms(), Ordering::Release);
    }
}

impl Drop for BodyWait {
    fn drop(&mut self) {
        self.0.enter(IN_FLIGHT);
    }
}

/// One connection's phase, shared by its watchdog, its socket wrapper and
/// its service.
#[derive(Debug)]
pub(crate) struct ConnState {
    id: u64,
    phase: AtomicU8,
    /// When the phase began, in milliseconds since the guard's epoch.
    since_ms: AtomicU64,
    /// The deadline the watchdog sleeps until (ms since the guard's epoch;
    /// `u64::MAX`: none). A phase that ends later needs no wake-up: the
    /// watchdog finds it when it wakes and sleeps on. So a keep-alive
    /// request, which moves through four phases, wakes it not at all.
    armed_ms: AtomicU64,
    changed: Notify,
    evicted: Notify,
    guard: Arc<ConnGuard>,
}

impl ConnState {
    fn enter(&self, phase: u8) {
        let now = self.guard.now_ms();
        self.since_ms.store(now, Ordering::SeqCst);
        self.phase.store(phase, Ordering::SeqCst);
        // SeqCst with the watchdog's store of `armed_ms` then its second
        // look at the phase (see `supervise`): either this sees what it
        // armed, or it sees this phase.
        if self
            .deadline_ms_of(phase, now)
            .is_some_and(|(due, _)| due < self.armed_ms.load(Ordering::SeqCst))
        {
            self.changed.notify_one();
        }
    }

    /// Marks a request as being handled until the returned value is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.enter(IN_FLIGHT);
        InFlight(self.clone())
    }

    /// When a phase begun at `since` (ms) must end, in ms, and what to
    /// count if it does not.
    fn deadline_ms_of(&self, phase: u8, since: u64) -> Option<(u64, &'static str)> {
        let ms = |d: Duration| since.saturating_add(d.as_millis() as u64);
        match phase {
            HEAD => Some((ms(self.guard.header_timeout), "header_timeout")),
            IDLE => Some((ms(self.guard.idle_timeout), "idle_timeout")),
            _ => None,
        }
    }

    /// When the current phase must end (ms), and what to count if it does not.
    fn deadline_ms(&self) -> Option<(u64, &'static str)> {
        let phase = self.phase.load(Ordering::SeqCst);
        self.deadline_ms_of(phase, self.since_ms.load(Ordering::SeqCst))
    }

    /// [`ConnState::deadline_ms`] as an instant.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        self.deadline_ms()
            .map(|(ms, reason)| (self.guard.epoch + Duration::from_millis(ms), reason))
    }

    /// The deadline to sleep until, recorded in `armed_ms` so that phases
    /// ending later need not wake the watchdog; read again after recording
    /// it, so a phase entered meanwhile is not missed.
    fn arm(&self) -> Option<(Instant, &'static str)> {
        loop {
            let due = self.deadline_ms();
            self.armed_ms
                .store(due.map_or(u64::MAX, |(ms, _)| ms), Ordering::SeqCst);
            if self.deadline_ms() == due {
                return self.deadline();
            }
        }
    }
}

/// A request in flight; the connection is idle again when it is dropped.
pub(crate) struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.enter(IDLE);
    }
}

/// The server-wide registry of open connections and their limits.
#[derive(Debug)]
pub(crate) struct ConnGuard {
    header_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnState>>>,
    metrics: Arc<Metrics>,
    /// Whether this guard's connections show in the `connections_open` gauge
    /// (the private metrics listener's do not).
    counted: bool,
}

/// What the guard decided for a new connection.
pub(crate) enum Admission {
    Admitted(Registration),
    /// Every slot has a request in flight.
    Refused,
}

/// A connection's slot; freed when dropped.
pub(crate) struct Registration {
    pub state: Arc<ConnState>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.guard.release(self.state.id);
    }
}

impl ConnGuard {
    pub(crate) fn new(
        header_timeout: Duration,
        idle_timeout: Duration,
        max_connections: usize,
        metrics: Arc<Metrics>,
        counted: bool,
    ) -> Arc<ConnGuard> {
        Arc::new(ConnGuard {
            header_timeout,
            idle_timeout,
            max_connections,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            metrics,
            counted,
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_gauge(&self, open: usize) {
        if self.counted {
            self.metrics
                .connections_open
                .store(open as i64, Ordering::Relaxed);
        }
    }

    /// Admits a new connection, evicting the longest-waiting connection
    /// without a request in flight when at the cap (see the module doc).
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut open = self.lock();
        if open.len() >= self.max_connections {
            // Idle before head before a stalled body (idle clients lose
            // nothing but a reconnect), then the longest waiting.
            let victim = open
                .values()
                .filter_map(|c| {
                    let rank = match c.phase.load(Ordering::Acquire) {
                        IDLE => 0u8,
                        HEAD => 1,
                        BODY => 2,
                        _ => return None,
                    };
                    Some((rank, c.since_ms.load(Ordering::Acquire), c))
                })
                .min_by_key(|(rank, since, _)| (*rank, *since))
                .map(|(rank, _, c)| (rank, c.clone()));
            let Some((rank, victim)) = victim else {
                drop(open);
                self.metrics
                    .connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                return Admission::Refused;
            };
            open.remove(&victim.id);
            victim.evicted.notify_one();
            self.metrics.connection_closed(match rank {
                0 => "evicted_idle",
                1 => "evicted_head",
                _ => "evicted_body",
            });
        }
        let state = Arc::new(ConnState {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            phase: AtomicU8::new(HEAD),
            since_ms: AtomicU64::new(self.now_ms()),
            armed_ms: AtomicU64::new(u64::MAX),
            changed: Notify::new(),
            evicted: Notify::new(),
            guard: self.clone(),
        });
        open.insert(state.id, state.clone());
        self.set_gauge(open.len());
        Admission::Admitted(Registration { state })
    }

    fn release(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        self.set_gauge(open.len());
    }
}

/// Drives `conn` (a hyper connection) until it ends, its phase's deadline
/// passes, or it is evicted; dropping it closes the socket.
pub(crate) async fn supervise<F: Future>(conn: F, state: &ConnState) {
    tokio::pin!(conn);
    loop {
        let deadline = state.arm();
        let expiry = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut conn => return,
            _ = state.evicted.notified() => return,
            _ = state.changed.notified() => continue,
            _ = expiry => {
                if let Some((at, reason)) = state.deadline() {
                    if at <= Instant::now() {
                        state.guard.metrics.connection_closed(reason);
                        return;
                    }
                }
            }
        }
    }
}

/// Answers a connection that could not be admitted: one non-blocking write
/// of a 503 (a fresh socket's send buffer has room), then close.
pub(crate) fn refuse(stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 52\r\n\r\n{\"error\":\"too many connections: retry in a second\"}\n";
    let _ = stream.try_write(BUSY);
}

/// The socket, watched: the first byte of a next request on an idle
/// connection moves it to the head phase (and the header timeout).
pub(crate) struct WatchedStream {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl WatchedStream {
    pub(crate) fn new(inner: TcpStream, state: Arc<ConnState>) -> WatchedStream {
        WatchedStream { inner, state }
    }
}

impl WatchedStream {
    /// A response still being written counts as activity: the idle clock
    /// starts when the client has taken the last byte, so a large export to
    /// a slow reader is not cut, while a reader that stops reading is.
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0)
            && self.state.phase.load(Ordering::Acquire) == IDLE
        {
            // No notify: the watchdog re-reads the deadline when it wakes.
            self.state
                .since_ms
                .store(self.state.guard.now_ms(), Ordering::Release);
        }
    }
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(())))
            && buf.filled().len() > before
            && self.state.phase.load(Ordering::Acquire) == IDLE
        {
            self.state.enter(HEAD);
        }
        polled
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&polled);
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_descriptors_for_files() {
        assert_eq!(default_max_connections(Some(256)), 128);
        assert_eq!(default_max_connections(Some(1024)), 768);
        assert_eq!(default_max_connections(Some(65_536)), 8192);
        assert_eq!(default_max_connections(Some(20)), 16);
    }

    #[tokio::test]
    async fn at_the_cap_idle_goes_before_head_and_in_flight_never() {
        let guard = ConnGuard::new(
            Duration::from_secs(10),
            Duration::from_secs(10),
            2,
            Arc::new(Metrics::default()),
            true,
        );
        let Admission::Admitted(a) = guard.admit() else {
            panic!("room")
        };
        let Admission::Admitted(b) = guard.admit() else {
            panic!("room")
        };
        let _a_busy = a.state.request();
        drop(b.state.request()); // b is idle now
        let Admission::Admitted(c) = guard.admit() else {
            panic!("b is evictable")
        };
        assert!(!guard.lock().contains_key(&b.state.id));
        // a is in flight, c in its head phase: c goes next.
        let Admission::Admitted(_d) = guard.admit() else {
            panic!("c is evictable")
        };
        assert!(!guard.lock().contains_key(&c.state.id));
        let _d_busy = guard
            .lock()
            .values()
            .find(|s| s.id != a.state.id)
            .unwrap()
            .request();
        assert!(matches!(guard.admit(), Admission::Refused));
    }

    #[tokio::test]
    async fn a_request_waiting_for_its_body_is_evictable_last() {
        let guard = ConnGuard::new(
            Duration::from_secs(10),
            Duration::from_secs(10),
            1,
            Arc::new(Metrics::default()),
            true,
        );
        let Admission::Admitted(a) = guard.admit() else {
            panic!("room")
        };
        let in_flight = a.state.request();
        let waiting = handling(a.state.clone(), async { awaiting_body() }).await;
        assert!(waiting.is_some());
        assert_eq!(a.state.phase.load(Ordering::Acquire), BODY);
        drop(waiting);
        assert_eq!(a.state.phase.load(Ordering::Acquire), IN_FLIGHT);
        assert!(matches!(guard.admit(), Admission::Refused));
        let _waiting = handling(a.state.clone(), async { awaiting_body() }).await;
        assert!(matches!(guard.admit(), Admission::Admitted(_)));
        drop(in_flight);
        assert!(awaiting_body().is_none(), "outside a handler");
    }
}
