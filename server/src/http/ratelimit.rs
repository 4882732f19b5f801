//! Guessing limits: failed bearer-token authentications and failed enrolment-code
//! redemptions are counted per client address; after `max_failures` in a window that address
//! is answered `429 rate_limited` with `Retry-After` until the window ends, before any token
//! or code is looked up. Successes are never counted, so devices with valid tokens on other
//! addresses are unaffected. (A valid device on the same address as a guesser waits too: the
//! limiter cannot tell them apart, and letting a right token through while wrong ones get 429
//! would tell the guesser which guess was right.)
//!
//! The client address is the TCP peer. Behind a reverse proxy every client would share the
//! proxy's address, so the peers listed in `trusted_proxies` are looked through: the client
//! is then the right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
//!
//! Memory is bounded: at most `MAX_TRACKED` addresses are remembered; expired entries are
//! dropped first, then the oldest.
//!
//! The routes that read a body before they know who is asking (enrolment, login) also hold
//! at most [`MAX_OPEN_PER_CLIENT`] requests of one address at once ([`RateLimiter::enter`]),
//! so a few slow clients cannot hold every slot of the route.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// Addresses remembered at once.
const MAX_TRACKED: usize = 100_000;
/// Requests of one client address open at once on a route that reads its body before
/// authenticating (a person enrolling a few devices at the township office needs a few).
pub const MAX_OPEN_PER_CLIENT: usize = 4;

/// What the limiter allows.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Failures an address may make in one window.
    pub max_failures: u32,
    /// Length of the window that starts with an address's first failure.
    pub window: Duration,
    /// Peers whose `X-Forwarded-For` names the real client (reverse proxies).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            max_failures: 10,
            window: Duration::from_secs(60),
            trusted_proxies: Vec::new(),
        }
    }
}

struct Window {
    started: Instant,
    failures: u32,
}

/// Failure counts per client address, and open unauthenticated requests per address.
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<IpAddr, Window>>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open request of a client address; the slot is given back when it is dropped.
pub struct Open {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for one more open request of `ip`, or `None` when it has
    /// [`MAX_OPEN_PER_CLIENT`] open already. An unknown address (no connection info: the
    /// in-process tests) is not limited: `Some(None)`.
    pub fn enter(&self, ip: Option<IpAddr>) -> Option<Option<Open>> {
        let Some(ip) = ip else { return Some(None) };
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= MAX_OPEN_PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(Some(Open {
            ip,
            open: Arc::clone(&self.open),
        }))
    }

    /// The client address of a request: its TCP peer, or, when the peer is a trusted proxy,
    /// the right-most `X-Forwarded-For` address that is not a trusted proxy. `None` when the
    /// server was not given connection info (in-process tests).
    pub fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())?;
        Some(self.look_through(peer, &parts.headers))
    }

    fn look_through(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = &self.limits.trusted_proxies;
        if !trusted.contains(&peer) {
            return peer;
        }
        let mut client = peer;
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for part in text.rsplit(',') {
                match part.trim().parse::<IpAddr>() {
                    Ok(ip) if trusted.contains(&ip) => client = ip,
                    Ok(ip) => return ip,
                    // Garbage in the header: stop at the last address we could trust.
                    Err(_) => return client,
                }
            }
        }
        client
    }

    /// `Some(wait)` when `ip` has used up its failures: answer 429 with `Retry-After: wait`.
    pub fn blocked(&self, ip: Option<IpAddr>) -> Option<Duration> {
        let ip = ip?;
        let windows = self.windows.lock().ok()?;
        let w = windows.get(&ip)?;
        let age = w.started.elapsed();
        if age >= self.limits.window || w.failures < self.limits.max_failures {
            return None;
        }
        Some(self.limits.window - age)
    }

    /// Count one failed authentication or redemption from `ip`.
    pub fn failed(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip else { return };
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        let window = self.limits.window;
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&ip) {
            windows.retain(|_, w| w.started.elapsed() < window);
            if windows.len() >= MAX_TRACKED {
                if let Some(oldest) = windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| *k)
                {
                    windows.remove(&oldest);
                }
            }
        }
        let w = windows.entry(ip).or_insert(Window {
            started: Instant::now(),
            failures: 0,
        });
        if w.started.elapsed() >= window {
            *w = Window {
                started: Instant::now(),
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

/// The client address of a request, as the limiter sees it (an extractor; never fails).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl axum::extract::FromRequestParts<std::sync::Arc<super::AppState>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<super::AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(state.limiter.client_ip(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(trusted: &[&str]) -> RateLimiter {
        RateLimiter::new(RateLimits {
            max_failures: 3,
            window: Duration::from_millis(200),
            trusted_proxies: trusted.iter().map(|s| s.parse().unwrap()).collect(),
        })
    }

    #[test]
    fn blocks_after_the_failures_of_a_window_and_only_that_address() {
        let l = limiter(&[]);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.blocked(Some(a)), None);
            l.failed(Some(a));
        }
        let wait = l.blocked(Some(a)).expect("blocked after 3 failures");
        assert!(wait <= Duration::from_millis(200));
        assert_eq!(l.blocked(Some(b)), None, "another address is not affected");
        assert_eq!(l.blocked(None), None, "no address, no limit");
        std::thread::sleep(Duration::from_millis(220));
        assert_eq!(l.blocked(Some(a)), None, "the window ended");
        l.failed(Some(a));
        assert_eq!(
            l.blocked(Some(a)),
            None,
            "a new window starts at one failure"
        );
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let l = limiter(&["10.0.0.9", "10.0.0.8"]);
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.0.0.8".parse().unwrap(),
        );
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(
            l.look_through(proxy, &h),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let stranger: IpAddr = "5.5.5.5".parse().unwrap();
        assert_eq!(
            l.look_through(stranger, &h),
            stranger,
            "not a proxy: the peer"
        );
        h.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(l.look_through(proxy, &h), proxy);
    }
}
