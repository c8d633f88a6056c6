//! Reading a request body into memory, in one place for every handler that
//! needs one (collect, replay uploads, settings), with the limits that keep
//! unfinished uploads from costing the server more than they sent:
//!
//! * a size cap per request: a declared `Content-Length` over it is refused
//!   before a byte is kept, a body that grows over it as soon as it does
//!   (the rest is read and dropped, up to a few times the cap, so that the
//!   client gets its 413 instead of a reset; the same for a 503);
//! * a deadline for the whole body, so a client that stalls mid-body is
//!   answered 408 instead of holding its buffer for minutes;
//! * a server-wide [`BodyBudget`] of bytes held by bodies still arriving or
//!   being handled. Memory is drawn from it as bytes arrive (never for what a
//!   header merely announces) and given back when the handler drops the
//!   [`Body`]; when it is spent the request is answered 503 with Retry-After.
//!   So thousands of unfinished 2 MiB uploads hold at most the budget.
//!
//! A refused body is read and dropped (never kept) up to a few times its
//! cap and within the body deadline, so the client gets its answer rather
//! than a reset; meanwhile the connection counts as waiting for its client,
//! so it is the first to be closed when the connection cap is full.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper::StatusCode;

use super::reply::{self, Reply};
use crate::metrics::Metrics;

/// The body bytes all requests together may hold at once.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    limit: usize,
    held: AtomicUsize,
    metrics: Arc<Metrics>,
}

impl BodyBudget {
    pub(crate) fn new(limit: usize, metrics: Arc<Metrics>) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            limit,
            held: AtomicUsize::new(0),
            metrics,
        })
    }

    /// Takes `n` bytes from the budget, or nothing when fewer are left.
    fn try_take(self: &Arc<Self>, n: usize) -> bool {
        let taken = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok();
        if taken {
            self.metrics
                .body_bytes_held
                .fetch_add(n as i64, Ordering::Relaxed);
        }
        taken
    }

    fn give_back(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::AcqRel);
        self.metrics
            .body_bytes_held
            .fetch_sub(n as i64, Ordering::Relaxed);
    }

    /// Bytes held right now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
struct Share {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl Drop for Share {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

/// A whole body, holding its share of the budget until it is dropped: keep
/// it alive as long as the bytes (or anything as large made from them) are.
#[derive(Debug)]
pub(crate) struct Body {
    bytes: Bytes,
    _share: Share,
}

impl Body {
    /// The bytes, shared (no copy); the share of the budget stays with
    /// this `Body`, so keep it alive while they are in use.
    pub(crate) fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Over the per-request cap (declared or sent).
    TooLarge { limit: usize },
    /// Not complete within the deadline.
    TimedOut { after: Duration },
    /// The server-wide budget is spent.
    Busy,
    /// The client broke the stream (reset, bad chunking).
    Unreadable(String),
}

impl BodyError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            BodyError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            BodyError::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The label it is counted under in /metrics.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "body_too_large",
            BodyError::TimedOut { .. } => "body_timeout",
            BodyError::Busy => "body_budget",
            BodyError::Unreadable(_) => "unreadable_body",
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            BodyError::TooLarge { limit } => format!("the body is over {limit} bytes"),
            BodyError::TimedOut { after } => format!(
                "the body did not arrive within {} s: send it whole, at once",
                after.as_secs()
            ),
            BodyError::Busy => {
                "the server holds too many unfinished uploads: retry shortly".to_string()
            }
            BodyError::Unreadable(e) => format!("could not read the body: {e}"),
        }
    }

    /// The one-line answer (503 with Retry-After).
    pub(crate) fn into_reply(self) -> Reply {
        match self {
            BodyError::Busy => reply::busy(1, &self.message()),
            e => reply::error(e.status(), &e.message()),
        }
    }
}

/// Reads the whole body: at most `limit` bytes, within `deadline`, drawing
/// on `budget` as bytes arrive.
pub(crate) async fn read(
    body: Incoming,
    limit: usize,
    deadline: Duration,
    budget: &Arc<BodyBudget>,
) -> Result<Body, BodyError> {
    let mut body = body;
    let started = tokio::time::Instant::now();
    // While it waits for the client, the connection may be evicted at the
    // connection cap (see `conn`); afterwards it is being handled.
    let waiting = super::conn::awaiting_body();
    let declared = body.size_hint().lower();
    let result = if declared > limit as u64 {
        Err(BodyError::TooLarge { limit })
    } else {
        match tokio::time::timeout(
            deadline,
            collect(&mut body, limit, budget, waiting.as_ref()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(BodyError::TimedOut { after: deadline }),
        }
    };
    if let Err(e) = &result {
        budget.metrics.body_refused(e.reason());
    }
    let refused_midway = matches!(result, Err(BodyError::TooLarge { .. } | BodyError::Busy));
    if refused_midway && declared <= (DRAIN_FACTOR * limit) as u64 {
        // What was kept is freed; read (and drop) the rest within what is
        // left of the deadline, so that the client, still sending, gets the
        // 413 or 503 rather than a reset.
        let left = deadline.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(left, discard(&mut body, DRAIN_FACTOR * limit)).await;
    }
    drop(waiting);
    result
}

/// A body over the cap is still read and dropped up to this many times the
/// cap (costing time, within the deadline, but no memory).
const DRAIN_FACTOR: usize = 4;

/// Reads and drops the body of a request refused before its body was read
/// (a rate limit), up to `limit` bytes and within `deadline`, so that the
/// client reads the answer instead of a reset. The connection counts as
/// waiting for its client meanwhile (evictable at the connection cap, see
/// `conn`), so a client cannot hold a slot by stalling a refused body.
pub(crate) async fn drain(body: Incoming, limit: usize, deadline: Duration) {
    let mut body = body;
    let waiting = super::conn::awaiting_body();
    let _ = tokio::time::timeout(deadline, discard(&mut body, limit)).await;
    drop(waiting);
}

async fn discard(body: &mut Incoming, mut allowance: usize) {
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            let Some(left) = allowance.checked_sub(data.len()) else {
                return;
            };
            allowance = left;
        }
    }
}

async fn collect(
    body: &mut Incoming,
    limit: usize,
    budget: &Arc<BodyBudget>,
    waiting: Option<&super::conn::BodyWait>,
) -> Result<Body, BodyError> {
    let mut share = Share {
        budget: budget.clone(),
        bytes: 0,
    };
    // A body that arrives in pieces is copied out, not kept frame by frame:
    // a small frame can pin hyper's whole read buffer. The budget is charged
    // for the Vec's capacity, which is what the memory really is.
    let mut kept: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let needed = kept.len() + data.len();
        if needed > limit {
            return Err(BodyError::TooLarge { limit });
        }
        if kept.is_empty() && body.is_end_stream() {
            // The whole body in one frame (a tracker batch, nearly always):
            // keep hyper's bytes as they are instead of copying them. They
            // share hyper's read buffer, which the connection holds anyway.
            if !budget.try_take(data.len()) {
                return Err(BodyError::Busy);
            }
            share.bytes = data.len();
            if let Some(w) = waiting {
                w.progress();
            }
            return Ok(Body {
                bytes: data,
                _share: share,
            });
        }
        if needed > kept.capacity() {
            // Grow geometrically (amortized copies) but never past the cap.
            let new_capacity = needed.max(kept.capacity() * 2).min(limit);
            if !budget.try_take(new_capacity - share.bytes) {
                return Err(BodyError::Busy);
            }
            share.bytes = new_capacity;
            kept.reserve_exact(new_capacity - kept.len());
        }
        kept.extend_from_slice(&data);
        if let Some(w) = waiting {
            w.progress();
        }
    }
    // Give back what the final size did not use.
    kept.shrink_to_fit();
    let unused = share.bytes - kept.capacity().min(share.bytes);
    budget.give_back(unused);
    share.bytes -= unused;
    Ok(Body {
        bytes: Bytes::from(kept),
        _share: share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_its_limit_and_shares_give_back() {
        let budget = BodyBudget::new(100, Arc::new(Metrics::default()));
        assert!(budget.try_take(60));
        assert!(!budget.try_take(41));
        let share = Share {
            budget: budget.clone(),
            bytes: 60,
        };
        assert_eq!(budget.held(), 60);
        drop(share);
        assert_eq!(budget.held(), 0);
        assert!(budget.try_take(100));
    }
}
