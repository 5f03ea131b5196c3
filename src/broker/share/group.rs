//! Share-group membership (KIP-932): members join, heartbeat and leave as in KIP-848, and
//! each gets its share of the subscribed partitions at once (no revocation step: several
//! members may read one partition).

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;
use uuid::Uuid;

/// A partition assignment: topic id → partitions.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// A member of a share group.
#[derive(Debug, Clone)]
pub struct ShareMember {
    /// The member id (chosen by the client).
    pub member_id: String,
    /// The member epoch: the group epoch whose assignment the member was last given.
    pub member_epoch: i32,
    /// The member's rack.
    pub rack_id: Option<String>,
    /// The client id of its connection.
    pub client_id: String,
    /// The client's host.
    pub client_host: String,
    /// The topics it subscribes to.
    pub subscribed_topic_names: BTreeSet<String>,
    /// Its partitions.
    pub assignment: Assignment,
    /// When its session runs out unless it heartbeats.
    pub session_deadline: Instant,
}

/// Kafka's states of a share group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareGroupState {
    /// No members.
    Empty,
    /// Members with their assignments.
    Stable,
}

impl ShareGroupState {
    /// Kafka's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            ShareGroupState::Empty => "Empty",
            ShareGroupState::Stable => "Stable",
        }
    }
}

/// A share group.
#[derive(Debug, Clone, Default)]
pub struct ShareGroup {
    /// Raised by every change of membership, subscriptions or subscribed partition counts.
    pub group_epoch: i32,
    /// The epoch of the current target assignment.
    pub assignment_epoch: i32,
    /// Members by id.
    pub members: BTreeMap<String, ShareMember>,
    /// The subscribed topics' ids, names and partition counts when last assigned.
    pub subscribed: BTreeMap<String, (Uuid, i32)>,
}

impl ShareGroup {
    /// The group's state.
    pub fn state(&self) -> ShareGroupState {
        if self.members.is_empty() {
            ShareGroupState::Empty
        } else {
            ShareGroupState::Stable
        }
    }

    /// Every topic some member subscribes to.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed_topic_names.iter().cloned())
            .collect()
    }

    /// Bumps the group epoch and assigns the subscribed partitions (`topics`: name → id and
    /// partition count of every subscribed topic that exists) to the members.
    pub fn reassign(&mut self, topics: BTreeMap<String, (Uuid, i32)>) {
        self.group_epoch += 1;
        self.assignment_epoch = self.group_epoch;
        for m in self.members.values_mut() {
            m.assignment.clear();
        }
        for (name, (id, count)) in &topics {
            let subscribers: Vec<String> = self
                .members
                .values()
                .filter(|m| m.subscribed_topic_names.contains(name))
                .map(|m| m.member_id.clone())
                .collect();
            for (i, member) in subscribers.iter().enumerate() {
                let n = subscribers.len() as i32;
                let mine: Vec<i32> = if *count >= n {
                    (0..*count).filter(|p| p % n == i as i32).collect()
                } else if *count > 0 {
                    vec![i as i32 % count]
                } else {
                    Vec::new()
                };
                if let Some(m) = self.members.get_mut(member) {
                    if !mine.is_empty() {
                        m.assignment.entry(*id).or_default().extend(mine);
                    }
                }
            }
        }
        self.subscribed = topics;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> ShareMember {
        ShareMember {
            member_id: id.into(),
            member_epoch: 0,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: topics.iter().map(|t| t.to_string()).collect(),
            assignment: Assignment::new(),
            session_deadline: Instant::now(),
        }
    }

    #[test]
    fn every_member_gets_a_partition_even_when_they_outnumber_them() {
        let t = Uuid::new_v4();
        let mut g = ShareGroup::default();
        for id in ["a", "b", "c"] {
            g.members.insert(id.into(), member(id, &["t"]));
        }
        g.reassign(BTreeMap::from([("t".to_string(), (t, 1))]));
        for m in g.members.values() {
            assert_eq!(m.assignment.get(&t), Some(&BTreeSet::from([0])));
        }
        g.reassign(BTreeMap::from([("t".to_string(), (t, 4))]));
        let all: BTreeSet<i32> = g
            .members
            .values()
            .flat_map(|m| m.assignment.get(&t).cloned().unwrap_or_default())
            .collect();
        assert_eq!(all, BTreeSet::from([0, 1, 2, 3]));
        assert!(g.members.values().all(|m| !m.assignment.is_empty()));
        assert_eq!(g.group_epoch, 2);
    }
}
