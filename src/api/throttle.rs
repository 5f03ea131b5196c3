//! Throttling clients over their quotas, as Kafka does since 2.0 (KIP-219): the response
//! is sent at once with `throttle_time_ms` set, then the connection's channel is muted
//! (no further request of it is read) for that long. The client is never disconnected.
//!
//! A connection holds one [`ChannelThrottle`]; handlers that find the client over a quota
//! extend its mute, and the connection's reader waits it out before it takes the next
//! request.

pub use super::spec::ChannelThrottle;
use super::{ApiContext, Call};
use crate::broker::quota::MutationQuota;

/// The user principal quotas are resolved for: the name of the connection's principal
/// (`ANONYMOUS` on PLAINTEXT listeners and before SASL authentication, as in Kafka).
pub fn quota_user(call: &Call) -> &str {
    &call.principal.name
}

/// The client id quotas are resolved for (empty when the request header has none).
pub fn quota_client_id(call: &Call) -> &str {
    call.client_id.as_deref().unwrap_or("")
}

/// The controller mutation quota of one CreateTopics, CreatePartitions or DeleteTopics
/// request: strict (refusing mutations with THROTTLING_QUOTA_EXCEEDED once exceeded) from
/// version `strict_since`, where Kafka's responses know that error; permissive before.
pub fn mutation_quota<'a>(
    ctx: &'a ApiContext,
    call: &Call,
    strict_since: i16,
) -> MutationQuota<'a> {
    ctx.quotas.mutation_quota(
        quota_user(call),
        quota_client_id(call),
        call.version >= strict_since,
    )
}

/// Ends a request under a controller mutation quota: mutes the channel for the quota's
/// throttle time and returns the `throttle_time_ms` of the response (the longer of it
/// and a mute already in force).
pub fn finish_mutations(call: &Call, quota: &MutationQuota<'_>) -> i32 {
    let throttle = quota.throttle_time_ms();
    call.throttle.mute_for(throttle);
    throttle_ms_field(throttle).max(call.throttle.remaining_ms())
}

/// A throttle time as the responses' `throttle_time_ms` carries it.
pub fn throttle_ms_field(ms: i64) -> i32 {
    i32::try_from(ms.max(0)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Duration;

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
