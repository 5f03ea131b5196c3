//! How share groups are kept in the state store.
//!
//! | key | value |
//! | --- | --- |
//! | `share/group/<id>` | the group's epoch (so an empty group survives a restart) |
//! | `share/state/<len:u16><id><topic id:16><partition:i32>` | a share-partition: state epoch, start offset, runs of record states |
//!
//! All integers are big-endian; every value starts with a format version byte (0).

use uuid::Uuid;

use super::error::{Result, ShareError};
use super::partition::{RecordState, StateRun};

/// The stored start offset of a share-partition left uninitialized (AlterShareGroupOffsets
/// with a negative offset): the next member starts where `share.auto.offset.reset` says.
pub const UNINITIALIZED: i64 = -1;

/// Prefix of the share groups' keys.
pub const GROUP_PREFIX: &[u8] = b"share/group/";
/// Prefix of the share-partitions' keys.
pub const STATE_PREFIX: &[u8] = b"share/state/";

/// The key of a share group.
pub fn group_key(group_id: &str) -> Vec<u8> {
    [GROUP_PREFIX, group_id.as_bytes()].concat()
}

/// The group id of a share group's key.
pub fn parse_group_key(key: &[u8]) -> Result<String> {
    key.strip_prefix(GROUP_PREFIX)
        .and_then(|k| String::from_utf8(k.to_vec()).ok())
        .ok_or_else(|| ShareError::Corrupt("share group key".into()))
}

/// The prefix of every share-partition of `group_id`.
pub fn state_prefix(group_id: &str) -> Vec<u8> {
    let id = group_id.as_bytes();
    let len = u16::try_from(id.len()).unwrap_or(u16::MAX);
    [STATE_PREFIX, &len.to_be_bytes(), id].concat()
}

/// The key of a share-partition.
pub fn state_key(group_id: &str, topic_id: Uuid, partition: i32) -> Vec<u8> {
    [
        state_prefix(group_id).as_slice(),
        topic_id.as_bytes(),
        &partition.to_be_bytes(),
    ]
    .concat()
}

/// The group, topic id and partition of a share-partition's key.
pub fn parse_state_key(key: &[u8]) -> Result<(String, Uuid, i32)> {
    let corrupt = || ShareError::Corrupt("share state key".into());
    let rest = key.strip_prefix(STATE_PREFIX).ok_or_else(corrupt)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(corrupt)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() != len + 20 {
        return Err(corrupt());
    }
    let (id, rest) = rest.split_at(len);
    let (topic, partition) = rest.split_at(16);
    let group = String::from_utf8(id.to_vec()).map_err(|_| corrupt())?;
    let topic = Uuid::from_slice(topic).map_err(|_| corrupt())?;
    let partition = i32::from_be_bytes(partition.try_into().map_err(|_| corrupt())?);
    Ok((group, topic, partition))
}

/// A stored share group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord {
    /// The group epoch.
    pub group_epoch: i32,
}

impl GroupRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(&self.group_epoch.to_be_bytes());
        out
    }

    /// Decodes a record.
    pub fn decode(value: &[u8]) -> Result<GroupRecord> {
        match value {
            [0, a, b, c, d] => Ok(GroupRecord {
                group_epoch: i32::from_be_bytes([*a, *b, *c, *d]),
            }),
            _ => Err(ShareError::Corrupt("share group record".into())),
        }
    }
}

/// A stored share-partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// Raised by every reset of the start offset.
    pub state_epoch: i32,
    /// The share-partition start offset.
    pub start_offset: i64,
    /// The window's records, as runs.
    pub runs: Vec<StateRun>,
}

const RUN_LEN: usize = 8 + 8 + 1 + 2;

impl StateRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17 + self.runs.len() * RUN_LEN);
        out.push(0);
        out.extend_from_slice(&self.state_epoch.to_be_bytes());
        out.extend_from_slice(&self.start_offset.to_be_bytes());
        let n = u32::try_from(self.runs.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        for run in &self.runs {
            out.extend_from_slice(&run.first_offset.to_be_bytes());
            out.extend_from_slice(&run.last_offset.to_be_bytes());
            out.push(run.state.code());
            out.extend_from_slice(&run.delivery_count.to_be_bytes());
        }
        out
    }

    /// Decodes a record.
    pub fn decode(value: &[u8]) -> Result<StateRecord> {
        let corrupt = |what: &str| ShareError::Corrupt(format!("share state record: {what}"));
        let (head, mut rest) = value
            .split_first_chunk::<17>()
            .ok_or_else(|| corrupt("short"))?;
        let (version, head) = head.split_first().ok_or_else(|| corrupt("short"))?;
        if *version != 0 {
            return Err(corrupt("version"));
        }
        let (epoch, head) = head
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("short"))?;
        let (start, head) = head
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("short"))?;
        let n = head
            .first_chunk::<4>()
            .map(|b| u32::from_be_bytes(*b) as usize)
            .ok_or_else(|| corrupt("short"))?;
        if rest.len() != n.saturating_mul(RUN_LEN) {
            return Err(corrupt("length"));
        }
        let mut runs = Vec::with_capacity(n);
        while let Some((run, tail)) = rest.split_first_chunk::<RUN_LEN>() {
            let (first, run) = run.split_first_chunk::<8>().ok_or_else(|| corrupt("run"))?;
            let (last, run) = run.split_first_chunk::<8>().ok_or_else(|| corrupt("run"))?;
            let (state, count) = run.split_first().ok_or_else(|| corrupt("run"))?;
            let count = count.first_chunk::<2>().ok_or_else(|| corrupt("run"))?;
            let run = StateRun {
                first_offset: i64::from_be_bytes(*first),
                last_offset: i64::from_be_bytes(*last),
                state: RecordState::from_code(*state).ok_or_else(|| corrupt("state"))?,
                delivery_count: i16::from_be_bytes(*count),
            };
            if run.first_offset > run.last_offset || run.first_offset < 0 {
                return Err(corrupt("run range"));
            }
            runs.push(run);
            rest = tail;
        }
        Ok(StateRecord {
            state_epoch: i32::from_be_bytes(*epoch),
            start_offset: i64::from_be_bytes(*start),
            runs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_records_round_trip() {
        let topic = Uuid::new_v4();
        let key = state_key("g/1", topic, 7);
        assert!(key.starts_with(&state_prefix("g/1")));
        assert!(!key.starts_with(&state_prefix("g/")));
        assert_eq!(
            parse_state_key(&key).unwrap(),
            ("g/1".to_string(), topic, 7)
        );
        let rec = StateRecord {
            state_epoch: 2,
            start_offset: 10,
            runs: vec![StateRun {
                first_offset: 10,
                last_offset: 12,
                state: RecordState::Acknowledged,
                delivery_count: 1,
            }],
        };
        assert_eq!(StateRecord::decode(&rec.encode()).unwrap(), rec);
        assert!(StateRecord::decode(&rec.encode()[..20]).is_err());
        let g = GroupRecord { group_epoch: 3 };
        assert_eq!(GroupRecord::decode(&g.encode()).unwrap(), g);
        assert_eq!(parse_group_key(&group_key("x")).unwrap(), "x");
    }
}
