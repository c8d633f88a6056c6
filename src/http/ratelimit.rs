//! Per-client and per-site rate limits, so that one client cannot take the
//! collector's capacity (or a site's replay quota) from everyone else.
//!
//! A client is its address as `collect::client_ip` sees it (behind a trusted
//! proxy, the first X-Forwarded-For address), IPv6 by its /64 (one host is
//! handed a whole /64, so single addresses would be free to rotate). The
//! address is only hashed, with SipHash under a random key drawn at start and
//! never stored or logged, so the limiter's memory cannot link anything back
//! to an address, not even after a restart.
//!
//! Each key has a token bucket, kept as GCRA does it: one number, the
//! "theoretical arrival time", per key. The keys live in LRU maps of a fixed
//! size (sharded to keep lock contention low), so the number of tracked
//! clients is bounded however many addresses send: forgetting the least
//! recently seen client gives it a full bucket, which is what a new client
//! gets anyway. (The `governor` crate implements the same algorithm, but its
//! keyed store is an unbounded map that has to be swept periodically; a
//! bound that holds between sweeps is the point here.)

use std::hash::Hasher;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::header::{HeaderValue, RETRY_AFTER};
use hyper::StatusCode;
use lru::LruCache;
use siphasher::sip::SipHasher13;

use super::reply::{self, Reply};
use crate::config::RateLimits;

/// Shards of the key map: independent locks.
const SHARDS: usize = 16;

/// A token bucket per key: `rate` per `per`, bursts of `burst`.
pub(crate) struct RateLimiter {
    /// Keyed by the SipHash of the key: the maps hash that as it is.
    shards: Box<[Mutex<LruCache<u64, u64, rustc_hash::FxBuildHasher>>]>,
    key: [u8; 16],
    /// Time one request takes from the bucket, in nanoseconds.
    interval_ns: u64,
    /// How far ahead of now a key's arrival time may run: the burst.
    tolerance_ns: u64,
    epoch: Instant,
}

impl RateLimiter {
    /// `rate` requests per `per`, `burst` at once, at most `tracked` keys;
    /// `None` when `rate` is 0 (no limit).
    pub(crate) fn new(rate: u32, per: Duration, burst: u32, tracked: usize) -> Option<RateLimiter> {
        if rate == 0 {
            return None;
        }
        let interval_ns = (per.as_nanos() as u64 / u64::from(rate)).max(1);
        let per_shard = NonZeroUsize::new(tracked.div_ceil(SHARDS).max(1)).expect("at least 1");
        Some(RateLimiter {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(LruCache::with_hasher(per_shard, rustc_hash::FxBuildHasher)))
                .collect(),
            key: rand::random(),
            interval_ns,
            tolerance_ns: interval_ns.saturating_mul(u64::from(burst.max(1))),
            epoch: Instant::now(),
        })
    }

    /// Takes one request from `key`'s bucket, or says how long until it has
    /// one.
    pub(crate) fn check(&self, key: &[u8]) -> Result<(), Duration> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.check_at(key, now)
    }

    /// Like [`RateLimiter::check`], for a client address.
    pub(crate) fn check_client(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check(&client_key(ip))
    }

    /// Takes `cost` units (bytes, say, for a limiter made with a rate in
    /// bytes) from a client address's bucket, or says how long until it
    /// has them. Nothing is taken when refused.
    pub(crate) fn check_client_cost(&self, ip: IpAddr, cost: u32) -> Result<(), Duration> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.check_cost_at(&client_key(ip), cost, now)
    }

    fn check_at(&self, key: &[u8], now: u64) -> Result<(), Duration> {
        self.check_cost_at(key, 1, now)
    }

    fn check_cost_at(&self, key: &[u8], cost: u32, now: u64) -> Result<(), Duration> {
        let mut h = SipHasher13::new_with_key(&self.key);
        h.write(key);
        let hashed = h.finish();
        let shard = &self.shards[(hashed % SHARDS as u64) as usize];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let known = map.get_mut(&hashed);
        let arrival = known.as_deref().copied().unwrap_or(now).max(now);
        let next = arrival + self.interval_ns.saturating_mul(u64::from(cost));
        if next - now > self.tolerance_ns {
            return Err(Duration::from_nanos(next - now - self.tolerance_ns));
        }
        // One lookup for a known client: update in place.
        match known {
            Some(at) => *at = next,
            None => {
                map.put(hashed, next);
            }
        }
        Ok(())
    }

    /// Keys tracked now (at most the `tracked` given, rounded up per shard).
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }
}

/// The bytes a client is known by: an IPv4 address (also when mapped into
/// IPv6), or the /64 of an IPv6 address.
fn client_key(ip: IpAddr) -> Vec<u8> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets()[..8].to_vec(),
    }
}

/// The server's limiters, from the settings.
pub(crate) struct Limiters {
    /// `POST /api/collect` (and replay's "do you have it?" probes) per client.
    pub collect: Option<RateLimiter>,
    /// Replay layout uploads per client.
    pub replay_client: Option<RateLimiter>,
    /// Replay layout uploads per site.
    pub replay_site: Option<RateLimiter>,
    /// Compressed replay bytes per client, counted in KiB.
    pub replay_client_kib: Option<RateLimiter>,
    /// Sign-in attempts per client.
    pub sign_in: Option<RateLimiter>,
}

impl Limiters {
    pub(crate) fn new(r: &RateLimits) -> Limiters {
        let minute = Duration::from_secs(60);
        Limiters {
            collect: RateLimiter::new(
                r.per_client,
                Duration::from_secs(1),
                r.burst_per_client,
                r.tracked_clients,
            ),
            replay_client: RateLimiter::new(
                r.replay_per_client_minute,
                minute,
                r.replay_per_client_minute,
                r.tracked_clients,
            ),
            // Sites are few; their count is bounded by the site registry.
            replay_site: RateLimiter::new(
                r.replay_per_site_minute,
                minute,
                r.replay_per_site_minute,
                4096,
            ),
            replay_client_kib: RateLimiter::new(
                r.replay_mb_per_client_hour.saturating_mul(1024),
                Duration::from_secs(3600),
                r.replay_mb_per_client_hour.saturating_mul(1024),
                r.tracked_clients,
            ),
            sign_in: RateLimiter::new(
                r.sign_ins_per_client_minute,
                minute,
                r.sign_ins_per_client_minute,
                r.tracked_clients,
            ),
        }
    }
}

/// Whole seconds to announce in Retry-After (at least 1).
pub(crate) fn retry_after_secs(wait: Duration) -> u32 {
    (wait.as_secs_f64().ceil() as u32).max(1)
}

/// 429 with Retry-After and a one-line reason.
pub(crate) fn too_many(wait: Duration, reason: &str) -> Reply {
    let mut r = reply::error(StatusCode::TOO_MANY_REQUESTS, reason);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(wait)));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn a_cost_takes_that_many_units_and_nothing_when_refused() {
        // 100 units a second, 100 at once.
        let l = RateLimiter::new(100, Duration::from_secs(1), 100, 1000).unwrap();
        assert!(l.check_cost_at(b"a", 60, SEC).is_ok());
        assert!(l.check_cost_at(b"a", 60, SEC).is_err(), "only 40 left");
        assert!(
            l.check_cost_at(b"a", 40, SEC).is_ok(),
            "the refusal took none"
        );
        assert!(l.check_cost_at(b"a", 1, SEC).is_err());
        // Half a second refills 50.
        assert!(l.check_cost_at(b"a", 50, SEC + SEC / 2).is_ok());
        assert!(
            l.check_cost_at(b"a", 101, 100 * SEC).is_err(),
            "over the burst"
        );
    }

    #[test]
    fn a_burst_then_the_rate_per_key() {
        let l = RateLimiter::new(10, Duration::from_secs(1), 5, 1000).unwrap();
        for _ in 0..5 {
            assert!(l.check_at(b"a", SEC).is_ok());
        }
        let wait = l.check_at(b"a", SEC).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(
            l.check_at(b"b", SEC).is_ok(),
            "another key has its own bucket"
        );
        // 100 ms later one more request fits, not two.
        assert!(l.check_at(b"a", SEC + SEC / 10).is_ok());
        assert!(l.check_at(b"a", SEC + SEC / 10).is_err());
        // After a long pause the whole burst is back, no more.
        for _ in 0..5 {
            assert!(l.check_at(b"a", 100 * SEC).is_ok());
        }
        assert!(l.check_at(b"a", 100 * SEC).is_err());
        assert!(RateLimiter::new(0, Duration::from_secs(1), 5, 10).is_none());
    }

    #[test]
    fn tracked_keys_are_bounded() {
        let l = RateLimiter::new(1, Duration::from_secs(1), 1, 64).unwrap();
        for i in 0u32..10_000 {
            assert!(l.check_at(&i.to_le_bytes(), SEC).is_ok());
        }
        assert!(l.tracked() <= 64, "{}", l.tracked());
    }

    #[test]
    fn ipv6_clients_are_known_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), client_key(v4));
    }
}
