//! Stopping an analysis that nobody waits for any more.
//!
//! Reports run on the blocking pool, where a request's future going away
//! (the client hung up) does not stop the work, and a costly but valid
//! request could keep a core busy long after it stopped mattering. A
//! [`Cancel`] carries a deadline and a flag that the request's side sets
//! (through [`Cancel::on_drop`]) when it is dropped; the long loops of
//! mining ask [`Ticker::stop`], which looks at the clock only every
//! [`Ticker::EVERY`] items, so checking costs nothing measurable. A loop
//! that is told to stop just returns what it has: the caller then asks
//! [`Cancel::stopped`] and throws the partial result away.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why an analysis stopped before it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It ran past its deadline.
    Deadline(Duration),
    /// Whoever asked for it went away.
    Abandoned,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Deadline(d) => write!(
                f,
                "the analysis took longer than {:.3} s and was stopped: narrow the date range \
                 or the filters, or ask for less",
                d.as_secs_f64()
            ),
            Stopped::Abandoned => f.write_str("the analysis was stopped: the client went away"),
        }
    }
}

/// A deadline and a stop flag shared by an analysis and its requester.
#[derive(Debug, Clone)]
pub(crate) struct Cancel {
    abandoned: Arc<AtomicBool>,
    deadline: Option<(Instant, Duration)>,
}

impl Cancel {
    /// Never stops (the CLI: ctrl-c is its deadline).
    pub(crate) fn never() -> Cancel {
        Cancel {
            abandoned: Arc::new(AtomicBool::new(false)),
            deadline: None,
        }
    }

    /// Stops `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Cancel {
        Cancel {
            deadline: Some((Instant::now() + timeout, timeout)),
            ..Cancel::never()
        }
    }

    /// Marks the analysis as abandoned.
    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }

    /// A guard that abandons the analysis when dropped: held by the
    /// request's future, it fires when hyper drops that future because the
    /// connection closed (and harmlessly after the reply).
    pub(crate) fn on_drop(&self) -> AbandonOnDrop {
        AbandonOnDrop(self.clone())
    }

    /// Whether, and why, the analysis should stop now.
    pub(crate) fn stopped(&self) -> Option<Stopped> {
        if self.abandoned.load(Ordering::Relaxed) {
            return Some(Stopped::Abandoned);
        }
        match self.deadline {
            Some((at, timeout)) if Instant::now() >= at => Some(Stopped::Deadline(timeout)),
            _ => None,
        }
    }

    /// `Err` when the analysis should stop.
    pub(crate) fn check(&self) -> Result<(), Stopped> {
        self.stopped().map_or(Ok(()), Err)
    }

    /// A cheap checker for one loop.
    pub(crate) fn ticker(&self) -> Ticker<'_> {
        Ticker {
            cancel: self,
            count: 0,
            stopped: false,
        }
    }
}

/// Abandons its [`Cancel`] when dropped.
#[derive(Debug)]
pub(crate) struct AbandonOnDrop(Cancel);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

/// Counts a loop's items and looks at the [`Cancel`] every
/// [`Ticker::EVERY`] of them.
#[derive(Debug)]
pub(crate) struct Ticker<'a> {
    cancel: &'a Cancel,
    count: u32,
    stopped: bool,
}

impl Ticker<'_> {
    /// Items between two looks at the clock: a few microseconds of work.
    pub(crate) const EVERY: u32 = 1024;

    /// Whether the loop should stop; once true, stays true.
    pub(crate) fn stop(&mut self) -> bool {
        if !self.stopped {
            self.count = self.count.wrapping_add(1);
            if self.count.is_multiple_of(Self::EVERY) {
                self.stopped = self.cancel.stopped().is_some();
            }
        }
        self.stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_guard_abandons_and_a_deadline_passes() {
        let c = Cancel::never();
        assert_eq!(c.stopped(), None);
        drop(c.on_drop());
        assert_eq!(c.stopped(), Some(Stopped::Abandoned));
        let c = Cancel::after(Duration::ZERO);
        assert!(matches!(c.check(), Err(Stopped::Deadline(_))));
        let c = Cancel::after(Duration::from_secs(3600));
        let mut t = c.ticker();
        assert!(!(0..5000).any(|_| t.stop()));
        c.abandon();
        assert!((0..Ticker::EVERY).any(|_| t.stop()));
        assert!(t.stop(), "stays stopped");
    }
}
