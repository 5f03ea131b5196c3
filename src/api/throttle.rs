//! Throttling clients over their quotas, as Kafka does since 2.0 (KIP-219): the response
//! is sent at once with `throttle_time_ms` set, then the connection's channel is muted
//! (no further request of it is read) for that long. The client is never disconnected.
//!
//! A connection holds one [`ChannelThrottle`]; handlers that find the client over a quota
//! extend its mute, and the connection's reader waits it out before it takes the next
//! request.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

use super::Call;

/// The user principal quotas are resolved for. Connections carry no authenticated
/// principal yet; Kafka's principal of an unauthenticated connection is `ANONYMOUS`.
pub fn quota_user(call: &Call) -> &str {
    let _ = call;
    "ANONYMOUS"
}

/// The client id quotas are resolved for (empty when the request header has none).
pub fn quota_client_id(call: &Call) -> &str {
    call.client_id.as_deref().unwrap_or("")
}

/// Whether, and until when, a connection's channel is muted.
#[derive(Debug, Clone, Default)]
pub struct ChannelThrottle(Arc<Mutex<Option<Instant>>>);

impl ChannelThrottle {
    /// An unmuted channel.
    pub fn new() -> ChannelThrottle {
        ChannelThrottle::default()
    }

    /// Mutes the channel for `ms` milliseconds from now (a longer mute already in force
    /// is kept).
    pub fn mute_for(&self, ms: i64) {
        let Ok(ms) = u64::try_from(ms) else {
            return;
        };
        if ms == 0 {
            return;
        }
        let until = Instant::now() + Duration::from_millis(ms);
        let mut muted = self.0.lock();
        if muted.is_none_or(|m| m < until) {
            *muted = Some(until);
        }
    }

    /// When the mute ends, if the channel is muted now.
    pub fn muted_until(&self) -> Option<Instant> {
        let mut muted = self.0.lock();
        match *muted {
            Some(until) if until > Instant::now() => Some(until),
            Some(_) => {
                *muted = None;
                None
            }
            None => None,
        }
    }

    /// Milliseconds of mute left (0 when not muted).
    pub fn remaining_ms(&self) -> i32 {
        self.muted_until().map_or(0, |until| {
            let left = until.saturating_duration_since(Instant::now()).as_millis();
            i32::try_from(left).unwrap_or(i32::MAX)
        })
    }
}

/// A throttle time as the responses' `throttle_time_ms` carries it.
pub fn throttle_ms_field(ms: i64) -> i32 {
    i32::try_from(ms.max(0)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_mute_ends_and_a_longer_one_wins() {
        let t = ChannelThrottle::new();
        assert_eq!(t.muted_until(), None);
        t.mute_for(100);
        t.mute_for(50);
        assert_eq!(t.remaining_ms(), 100);
        tokio::time::advance(Duration::from_millis(60)).await;
        assert_eq!(t.remaining_ms(), 40);
        tokio::time::advance(Duration::from_millis(40)).await;
        assert_eq!(t.muted_until(), None);
        t.mute_for(-5);
        assert_eq!(t.muted_until(), None);
    }
}
