//! Share sessions (KIP-932): the partitions a member fetches from, kept between its
//! ShareFetch requests so that each request carries only what changed.
//!
//! Epoch 0 opens a session (replacing the member's previous one), each later request
//! carries the next epoch (1, 2, … wrapping to 1), and -1 closes it after its
//! acknowledgements.

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

use super::error::{Result, ShareError};

/// A topic-partition by id.
pub type TopicIdPartition = (Uuid, i32);

/// The epoch that opens a session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch that closes one.
pub const FINAL_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
struct ShareSession {
    /// The epoch the next request must carry.
    next_epoch: i32,
    partitions: BTreeSet<TopicIdPartition>,
}

/// The open share sessions, by group and member.
#[derive(Debug, Default)]
pub struct ShareSessions {
    sessions: HashMap<(String, String), ShareSession>,
}

/// What a request did to its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStep {
    /// The partitions to fetch from (empty when the session closes).
    pub partitions: Vec<TopicIdPartition>,
    /// The session was closed by this request.
    pub closed: bool,
    /// The partitions the request dropped from the session.
    pub forgotten: Vec<TopicIdPartition>,
}

fn next(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

impl ShareSessions {
    /// Applies a ShareFetch's (or, with no partitions added, a ShareAcknowledge's) epoch and
    /// partitions to the member's session.
    pub fn step(
        &mut self,
        group_id: &str,
        member_id: &str,
        epoch: i32,
        added: &[TopicIdPartition],
        forgotten: &[TopicIdPartition],
        max_sessions: usize,
    ) -> Result<SessionStep> {
        let key = (group_id.to_string(), member_id.to_string());
        match epoch {
            INITIAL_EPOCH => {
                if !self.sessions.contains_key(&key) && self.sessions.len() >= max_sessions {
                    return Err(ShareError::ShareSessionLimitReached);
                }
                let previous = self.sessions.insert(
                    key,
                    ShareSession {
                        next_epoch: 1,
                        partitions: added.iter().copied().collect(),
                    },
                );
                let forgotten = previous
                    .map(|p| {
                        p.partitions
                            .into_iter()
                            .filter(|tp| !added.contains(tp))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(SessionStep {
                    partitions: added.to_vec(),
                    closed: false,
                    forgotten,
                })
            }
            FINAL_EPOCH => {
                let session = self
                    .sessions
                    .remove(&key)
                    .ok_or(ShareError::ShareSessionNotFound)?;
                Ok(SessionStep {
                    partitions: Vec::new(),
                    closed: true,
                    forgotten: session.partitions.into_iter().collect(),
                })
            }
            _ => {
                let session = self
                    .sessions
                    .get_mut(&key)
                    .ok_or(ShareError::ShareSessionNotFound)?;
                if session.next_epoch != epoch {
                    return Err(ShareError::InvalidShareSessionEpoch);
                }
                session.next_epoch = next(epoch);
                session.partitions.extend(added.iter().copied());
                let mut dropped = Vec::new();
                for tp in forgotten {
                    if session.partitions.remove(tp) {
                        dropped.push(*tp);
                    }
                }
                Ok(SessionStep {
                    partitions: session.partitions.iter().copied().collect(),
                    closed: false,
                    forgotten: dropped,
                })
            }
        }
    }

    /// Drops the member's session (it left the group); returns its partitions.
    pub fn remove(&mut self, group_id: &str, member_id: &str) -> Vec<TopicIdPartition> {
        self.sessions
            .remove(&(group_id.to_string(), member_id.to_string()))
            .map(|s| s.partitions.into_iter().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_open_advance_and_close_a_session() {
        let t = Uuid::new_v4();
        let mut s = ShareSessions::default();
        assert_eq!(
            s.step("g", "m", 1, &[], &[], 10),
            Err(ShareError::ShareSessionNotFound)
        );
        s.step("g", "m", 0, &[(t, 0)], &[], 10).unwrap();
        assert_eq!(
            s.step("g", "m", 2, &[], &[], 10),
            Err(ShareError::InvalidShareSessionEpoch)
        );
        let step = s.step("g", "m", 1, &[(t, 1)], &[(t, 0)], 10).unwrap();
        assert_eq!(step.partitions, vec![(t, 1)]);
        assert_eq!(step.forgotten, vec![(t, 0)]);
        let step = s.step("g", "m", -1, &[], &[], 10).unwrap();
        assert!(step.closed);
        assert_eq!(
            s.step("g", "m", 2, &[], &[], 10),
            Err(ShareError::ShareSessionNotFound)
        );
        s.step("g", "a", 0, &[], &[], 1).unwrap();
        assert_eq!(
            s.step("g", "b", 0, &[], &[], 1),
            Err(ShareError::ShareSessionLimitReached)
        );
    }
}
