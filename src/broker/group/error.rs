//! The coordinator's errors, each mapped to its Kafka error code in one place.

/// Everything a group coordinator call can fail with. [`GroupError::code`] gives the Kafka
/// error code the API layer puts on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Unexpected failure (for example of the state store).
    #[error("unknown server error: {0}")]
    UnknownServerError(String),
    /// The coordinator is shutting down or not yet loaded.
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
    /// Offset metadata longer than `offset.metadata.max.bytes`.
    #[error("offset metadata too large")]
    OffsetMetadataTooLarge,
    /// The generation (or the group's existence) does not match.
    #[error("illegal generation")]
    IllegalGeneration,
    /// Protocol type or protocol set incompatible with the group.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// An empty or otherwise invalid group id.
    #[error("invalid group id")]
    InvalidGroupId,
    /// The member is not known to the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// Session timeout outside `[group.min.session.timeout.ms, group.max.session.timeout.ms]`.
    #[error("invalid session timeout")]
    InvalidSessionTimeout,
    /// The group is rebalancing: the member must rejoin.
    #[error("rebalance in progress")]
    RebalanceInProgress,
    /// A malformed request (for example a KIP-848 join without a subscription).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The group still has members.
    #[error("group is not empty")]
    NonEmptyGroup,
    /// No such group.
    #[error("group id not found")]
    GroupIdNotFound,
    /// A v4+ JoinGroup without a member id: retry with the id given in the response.
    #[error("member id required")]
    MemberIdRequired,
    /// The group reached `group.max.size`.
    #[error("group max size reached")]
    GroupMaxSizeReached,
    /// Another member registered with the same `group.instance.id`.
    #[error("fenced instance id")]
    FencedInstanceId,
    /// OffsetDelete of a topic the group is subscribed to.
    #[error("group subscribed to topic")]
    GroupSubscribedToTopic,
    /// KIP-848: the member epoch is not the member's current (or previous) epoch.
    #[error("fenced member epoch")]
    FencedMemberEpoch,
    /// KIP-848: a static member's instance id is still held by a live member.
    #[error("unreleased instance id")]
    UnreleasedInstanceId,
    /// KIP-848: the requested server assignor does not exist.
    #[error("unsupported assignor")]
    UnsupportedAssignor,
    /// The caller may not use the group (set by the API layer from the authorizer's answer).
    #[error("group authorization failed")]
    GroupAuthorizationFailed,
    /// The caller may not use the topic (set by the API layer from the authorizer's answer).
    #[error("topic authorization failed")]
    TopicAuthorizationFailed,
    /// KIP-848: the subscribed regular expression does not compile.
    #[error("invalid regular expression")]
    InvalidRegularExpression,
    /// KIP-848: an offset commit or fetch carrying an outdated member epoch.
    #[error("stale member epoch")]
    StaleMemberEpoch,
    /// OffsetFetch with `require_stable`: an open transaction holds a pending offset for the
    /// partition.
    #[error("unstable offset commit")]
    UnstableOffsetCommit,
}

impl GroupError {
    /// The Kafka error code.
    pub fn code(&self) -> i16 {
        match self {
            GroupError::UnknownServerError(_) => -1,
            GroupError::OffsetMetadataTooLarge => 12,
            GroupError::CoordinatorNotAvailable => 15,
            GroupError::IllegalGeneration => 22,
            GroupError::InconsistentGroupProtocol => 23,
            GroupError::InvalidGroupId => 24,
            GroupError::UnknownMemberId => 25,
            GroupError::InvalidSessionTimeout => 26,
            GroupError::RebalanceInProgress => 27,
            GroupError::InvalidRequest(_) => 42,
            GroupError::NonEmptyGroup => 68,
            GroupError::GroupIdNotFound => 69,
            GroupError::MemberIdRequired => 79,
            GroupError::GroupMaxSizeReached => 81,
            GroupError::FencedInstanceId => 82,
            GroupError::GroupSubscribedToTopic => 86,
            GroupError::FencedMemberEpoch => 110,
            GroupError::UnreleasedInstanceId => 111,
            GroupError::UnsupportedAssignor => 112,
            GroupError::StaleMemberEpoch => 113,
            GroupError::InvalidRegularExpression => 128,
            GroupError::GroupAuthorizationFailed => 30,
            GroupError::TopicAuthorizationFailed => 29,
            GroupError::UnstableOffsetCommit => 88,
        }
    }

    /// The code of an optional error: 0 for none.
    pub fn code_of(error: &Option<GroupError>) -> i16 {
        error.as_ref().map_or(0, GroupError::code)
    }
}

impl From<crate::storage::StorageError> for GroupError {
    fn from(e: crate::storage::StorageError) -> Self {
        GroupError::UnknownServerError(e.to_string())
    }
}

/// Result alias of the coordinator.
pub type Result<T, E = GroupError> = std::result::Result<T, E>;
