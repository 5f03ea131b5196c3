//! KIP-848 server-side assignors: `uniform` (balanced and sticky over all subscribed
//! partitions) and `range` (each topic's partitions split in contiguous ranges).
//!
//! Both are pure functions of the members' subscriptions, their current assignments and
//! the partition counts of the subscribed topics, identified by topic ID.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

/// Partitions by topic ID.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// What an assignor knows of one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSpec {
    /// Topic IDs the member subscribes to.
    pub subscribed_topics: BTreeSet<Uuid>,
    /// The member's current assignment (used for stickiness).
    pub current: Assignment,
}

/// The server-side assignors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assignor {
    /// Balanced over all partitions a member may own, keeping current owners where the
    /// balance allows.
    #[default]
    Uniform,
    /// Per topic, the members subscribed to it (in member-id order) get contiguous ranges.
    Range,
}

impl Assignor {
    /// The name clients ask for (`group.remote.assignor`).
    pub fn name(&self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// The assignor of this name, if it exists.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }

    /// The target assignment of every member (members with nothing get an empty entry).
    /// `topics` maps topic ID to partition count; subscribed topics missing from it are
    /// ignored.
    pub fn assign(
        &self,
        members: &BTreeMap<String, MemberSpec>,
        topics: &BTreeMap<Uuid, i32>,
    ) -> BTreeMap<String, Assignment> {
        match self {
            Assignor::Uniform => assign_uniform(members, topics),
            Assignor::Range => assign_range(members, topics),
        }
    }
}

fn empty_result(members: &BTreeMap<String, MemberSpec>) -> BTreeMap<String, Assignment> {
    members
        .keys()
        .map(|id| (id.clone(), Assignment::new()))
        .collect()
}

fn assign_range(
    members: &BTreeMap<String, MemberSpec>,
    topics: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut result = empty_result(members);
    for (topic, &count) in topics {
        let subscribers: Vec<&String> = members
            .iter()
            .filter(|(_, m)| m.subscribed_topics.contains(topic))
            .map(|(id, _)| id)
            .collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let n = subscribers.len() as i32;
        let (base, extra) = (count / n, count % n);
        let mut next = 0;
        for (i, id) in subscribers.iter().enumerate() {
            let take = base + i32::from((i as i32) < extra);
            if take == 0 {
                continue;
            }
            if let Some(a) = result.get_mut(*id) {
                a.entry(*topic).or_default().extend(next..next + take);
            }
            next += take;
        }
    }
    result
}

fn assign_uniform(
    members: &BTreeMap<String, MemberSpec>,
    topics: &BTreeMap<Uuid, i32>,
) -> BTreeMap<String, Assignment> {
    let mut result = empty_result(members);
    if members.is_empty() {
        return result;
    }
    // Every partition of a topic someone subscribes to.
    let mut all: Vec<(Uuid, i32)> = Vec::new();
    for (topic, &count) in topics {
        if members
            .values()
            .any(|m| m.subscribed_topics.contains(topic))
        {
            all.extend((0..count.max(0)).map(|p| (*topic, p)));
        }
    }
    let active = members
        .values()
        .filter(|m| m.subscribed_topics.iter().any(|t| topics.contains_key(t)))
        .count()
        .max(1);
    let floor = all.len() / active;
    let mut extra_slots = all.len() % active;
    let mut counts: BTreeMap<&String, usize> = members.keys().map(|id| (id, 0)).collect();
    let mut taken: BTreeSet<(Uuid, i32)> = BTreeSet::new();

    // Stickiness: keep valid current partitions up to the quota; members with the most
    // current partitions get the few "floor + 1" slots first.
    let mut order: Vec<(&String, &MemberSpec)> = members.iter().collect();
    order.sort_by_key(|(id, m)| {
        let n: usize = m.current.values().map(BTreeSet::len).sum();
        (std::cmp::Reverse(n), (*id).clone())
    });
    for (id, m) in order {
        let mut keep: Vec<(Uuid, i32)> = Vec::new();
        for (topic, parts) in &m.current {
            let Some(&count) = topics.get(topic) else {
                continue;
            };
            if !m.subscribed_topics.contains(topic) {
                continue;
            }
            for &p in parts {
                if p >= 0 && p < count && !taken.contains(&(*topic, p)) {
                    keep.push((*topic, p));
                }
            }
        }
        let mut quota = floor;
        if keep.len() > floor && extra_slots > 0 {
            quota += 1;
            extra_slots -= 1;
        }
        for tp in keep.into_iter().take(quota) {
            taken.insert(tp);
            if let Some(a) = result.get_mut(id) {
                a.entry(tp.0).or_default().insert(tp.1);
            }
            if let Some(c) = counts.get_mut(id) {
                *c += 1;
            }
        }
    }
    // The rest go one by one to the least loaded member that may own them.
    for tp in all {
        if taken.contains(&tp) {
            continue;
        }
        let best = members
            .iter()
            .filter(|(_, m)| m.subscribed_topics.contains(&tp.0))
            .min_by_key(|(id, _)| (counts.get(id).copied().unwrap_or(0), (*id).clone()))
            .map(|(id, _)| id);
        if let Some(id) = best {
            if let Some(a) = result.get_mut(id) {
                a.entry(tp.0).or_default().insert(tp.1);
            }
            if let Some(c) = counts.get_mut(id) {
                *c += 1;
            }
        }
    }
    result
}
