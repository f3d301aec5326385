//! Rate limits (governor's keyed limiters): sign-in requests per address and per client IP, and
//! posts per person. A refusal says when to try again (`Retry-After`).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock, QuantaInstant};
use governor::{DefaultKeyedRateLimiter, NotUntil, Quota, RateLimiter};

use crate::error::AppError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(15 * 60);

pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

/// The refusal of a limiter, with the whole seconds until the next request would pass.
fn refused(not_until: NotUntil<QuantaInstant>) -> AppError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    // Rounded up, and at least one: `Retry-After: 0` would invite a retry that fails again.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    AppError::TooManyRequests {
        retry_after_seconds: seconds.max(1),
    }
}

/// `count` requests at once, refilled evenly over the window.
fn quota(count: u32) -> Quota {
    let count = NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(WINDOW / count.get())
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(count)
}

impl SignInLimits {
    pub fn new(per_address: u32, per_ip: u32) -> Self {
        Self {
            per_address: RateLimiter::keyed(quota(per_address)),
            per_ip: RateLimiter::keyed(quota(per_ip)),
        }
    }

    /// Counts one request. The answer is the same for known and unknown addresses.
    pub fn check(&self, address: &str, ip: IpAddr) -> Result<(), AppError> {
        self.per_ip.check_key(&ip).map_err(refused)?;
        self.per_address.check_key(&address.to_string()).map_err(refused)?;
        Ok(())
    }

    /// Drops keys whose limits have fully refilled, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.per_address.retain_recent();
        self.per_ip.retain_recent();
    }
}

/// Posts per person per minute, over HTTP and the websocket together.
pub struct PostLimits {
    per_person: DefaultKeyedRateLimiter<i32>,
}

impl PostLimits {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            per_person: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    pub fn check(&self, user_id: i32) -> Result<(), AppError> {
        self.per_person.check_key(&user_id).map_err(refused)
    }

    pub fn forget_idle(&self) {
        self.per_person.retain_recent();
    }
}

/// The client's IP: the socket's peer, or the last `X-Forwarded-For` hop behind a trusted proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.settings.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|hop| hop.trim().parse().ok())
        {
            return Ok(ClientIp(ip));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("server started without peer addresses")))?;
        Ok(ClientIp(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_says_when_the_next_request_would_pass() {
        // Two sign-in links per address per 15 minutes: one refills every 7.5 minutes.
        let limits = SignInLimits::new(2, 100);
        let ip: IpAddr = [127, 0, 0, 1].into();
        assert!(limits.check("kari@example.no", ip).is_ok());
        assert!(limits.check("kari@example.no", ip).is_ok());
        let refusal = limits.check("kari@example.no", ip).expect_err("the third is refused");
        let seconds = refusal.retry_after().expect("a refusal has a Retry-After");
        assert!((440..=450).contains(&seconds), "{seconds} s");

        let posts = PostLimits::new(1);
        assert!(posts.check(7).is_ok());
        let seconds = posts.check(7).expect_err("refused").retry_after().expect("Retry-After");
        assert!((59..=60).contains(&seconds), "{seconds} s");
    }
}
