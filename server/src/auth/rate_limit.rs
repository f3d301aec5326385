//! Limits on sign-in requests, per address and per client IP (governor's keyed limiters).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;
use crate::state::AppState;

const WINDOW: Duration = Duration::from_secs(15 * 60);

pub struct SignInLimits {
    per_address: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
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
        self.per_ip.check_key(&ip).map_err(|_| AppError::TooManyRequests)?;
        self.per_address
            .check_key(&address.to_string())
            .map_err(|_| AppError::TooManyRequests)?;
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
        self.per_person
            .check_key(&user_id)
            .map_err(|_| AppError::TooManyRequests)
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
