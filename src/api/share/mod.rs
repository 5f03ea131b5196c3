//! The share-group APIs (KIP-932): ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch,
//! ShareAcknowledge, and DescribeShareGroupOffsets, AlterShareGroupOffsets and
//! DeleteShareGroupOffsets. Each converts kafka-protocol's message into the share coordinator's
//! plain request ([`crate::broker::share`]) and its answer back; error codes come from
//! [`crate::api::error::share_error_code`].
//!
//! They are served (and advertised) while the `share.version` feature is finalized at 1 or
//! above, as Kafka does.

pub mod alter_share_group_offsets;
pub mod delete_share_group_offsets;
pub mod describe_share_group_offsets;
pub mod messages;
pub mod share_acknowledge;
pub mod share_fetch;
pub mod share_group_describe;
pub mod share_group_heartbeat;

use crate::api::ApiContext;
use crate::broker::features::SHARE_VERSION;
use crate::broker::share::AcknowledgementBatch;

/// Whether share groups are on (`share.version` ≥ 1).
pub(crate) fn share_groups_enabled(ctx: &ApiContext) -> bool {
    ctx.features.level(SHARE_VERSION) >= 1
}

/// Acknowledgement batches of a request, as the coordinator takes them.
pub(crate) fn batches<'a>(
    batches: impl IntoIterator<Item = (i64, i64, &'a Vec<i8>)>,
) -> Vec<AcknowledgementBatch> {
    batches
        .into_iter()
        .map(|(first, last, types)| AcknowledgementBatch {
            first_offset: first,
            last_offset: last,
            acknowledge_types: types.clone(),
        })
        .collect()
}
