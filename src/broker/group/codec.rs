//! Key layout and value encoding of the coordinator's records in the keyed state store.
//!
//! Keys (lengths are big-endian, so one group's keys share a prefix and sort together):
//! - `group/` + group id → [`GroupRecord`]
//! - `offset/` + u16 group-id length + group id + u16 topic length + topic + i32
//!   partition → [`OffsetRecord`]
//!
//! Values start with a version byte (0). Strings are a presence byte, a u32 length and
//! UTF-8 bytes. Decoding checks every length and returns an error on a short or malformed
//! value; nothing read from disk is indexed unchecked.

use super::error::{GroupError, Result};
use super::types::GroupType;

const VERSION: u8 = 0;
/// Prefix of group metadata keys.
pub const GROUP_PREFIX: &[u8] = b"group/";
/// Prefix of committed-offset keys.
pub const OFFSET_PREFIX: &[u8] = b"offset/";

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRecord {
    /// The offset.
    pub offset: i64,
    /// Leader epoch, -1 when unknown.
    pub leader_epoch: i32,
    /// Metadata as committed.
    pub metadata: Option<String>,
    /// Commit time (ms since the epoch).
    pub commit_timestamp_ms: i64,
    /// Explicit expiry (OffsetCommit v2–v4 retention), -1 for none.
    pub expire_timestamp_ms: i64,
}

/// A group's durable metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Classic or consumer.
    pub group_type: GroupType,
    /// Generation (classic) or group epoch (consumer).
    pub generation: i32,
    /// Protocol type (classic).
    pub protocol_type: Option<String>,
    /// Selected protocol (classic).
    pub protocol_name: Option<String>,
    /// When the group entered its current state (ms since the epoch).
    pub state_since_ms: i64,
}

fn corrupt(what: &str) -> GroupError {
    GroupError::UnknownServerError(format!("corrupt group record: {what}"))
}

/// The key of a group's metadata.
pub fn group_key(group: &str) -> Vec<u8> {
    let mut k = GROUP_PREFIX.to_vec();
    k.extend_from_slice(group.as_bytes());
    k
}

fn put_short_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let len = u16::try_from(s.len())
        .map_err(|_| GroupError::InvalidRequest(format!("name of {} bytes too long", s.len())))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The prefix of every offset key of a group.
pub fn offset_group_prefix(group: &str) -> Result<Vec<u8>> {
    let mut k = OFFSET_PREFIX.to_vec();
    put_short_str(&mut k, group)?;
    Ok(k)
}

/// The key of one committed offset.
pub fn offset_key(group: &str, topic: &str, partition: i32) -> Result<Vec<u8>> {
    let mut k = offset_group_prefix(group)?;
    put_short_str(&mut k, topic)?;
    k.extend_from_slice(&partition.to_be_bytes());
    Ok(k)
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    fn short_str(&mut self) -> Result<String> {
        let len = u16::from_be_bytes(self.array()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| corrupt("not utf-8"))
    }
    fn opt_str(&mut self) -> Result<Option<String>> {
        if self.u8()? == 0 {
            return Ok(None);
        }
        let len = u32::from_be_bytes(self.array()?) as usize;
        let s = String::from_utf8(self.take(len)?.to_vec()).map_err(|_| corrupt("not utf-8"))?;
        Ok(Some(s))
    }
}

fn put_opt_str(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// Splits an offset key into (group, topic, partition).
pub fn parse_offset_key(key: &[u8]) -> Result<(String, String, i32)> {
    let rest = key
        .strip_prefix(OFFSET_PREFIX)
        .ok_or_else(|| corrupt("offset key prefix"))?;
    let mut r = Reader { buf: rest };
    let group = r.short_str()?;
    let topic = r.short_str()?;
    let partition = r.i32()?;
    if !r.buf.is_empty() {
        return Err(corrupt("offset key trailing bytes"));
    }
    Ok((group, topic, partition))
}

impl OffsetRecord {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.leader_epoch.to_be_bytes());
        out.extend_from_slice(&self.commit_timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.expire_timestamp_ms.to_be_bytes());
        put_opt_str(&mut out, &self.metadata);
        out
    }

    /// Decodes a value.
    pub fn decode(buf: &[u8]) -> Result<OffsetRecord> {
        let mut r = Reader { buf };
        if r.u8()? != VERSION {
            return Err(corrupt("offset record version"));
        }
        let rec = OffsetRecord {
            offset: r.i64()?,
            leader_epoch: r.i32()?,
            commit_timestamp_ms: r.i64()?,
            expire_timestamp_ms: r.i64()?,
            metadata: r.opt_str()?,
        };
        Ok(rec)
    }
}

impl GroupRecord {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.push(match self.group_type {
            GroupType::Classic => 0,
            GroupType::Consumer => 1,
        });
        out.extend_from_slice(&self.generation.to_be_bytes());
        put_opt_str(&mut out, &self.protocol_type);
        put_opt_str(&mut out, &self.protocol_name);
        out.extend_from_slice(&self.state_since_ms.to_be_bytes());
        out
    }

    /// Decodes a value.
    pub fn decode(buf: &[u8]) -> Result<GroupRecord> {
        let mut r = Reader { buf };
        if r.u8()? != VERSION {
            return Err(corrupt("group record version"));
        }
        let group_type = match r.u8()? {
            0 => GroupType::Classic,
            1 => GroupType::Consumer,
            _ => return Err(corrupt("group type")),
        };
        Ok(GroupRecord {
            group_type,
            generation: r.i32()?,
            protocol_type: r.opt_str()?,
            protocol_name: r.opt_str()?,
            state_since_ms: r.i64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_round_trip_and_key() {
        let rec = OffsetRecord {
            offset: 42,
            leader_epoch: 3,
            metadata: Some("m/ä".into()),
            commit_timestamp_ms: 1000,
            expire_timestamp_ms: -1,
        };
        assert_eq!(OffsetRecord::decode(&rec.encode()).unwrap(), rec);
        let key = offset_key("g/1", "t", 7).unwrap();
        assert_eq!(
            parse_offset_key(&key).unwrap(),
            ("g/1".into(), "t".into(), 7)
        );
        assert!(key.starts_with(&offset_group_prefix("g/1").unwrap()));
        assert!(!key.starts_with(&offset_group_prefix("g/").unwrap()));
        let enc = rec.encode();
        assert!(OffsetRecord::decode(&enc[..enc.len() - 1]).is_err());
    }

    #[test]
    fn group_round_trip() {
        let rec = GroupRecord {
            group_type: GroupType::Consumer,
            generation: 9,
            protocol_type: Some("consumer".into()),
            protocol_name: None,
            state_since_ms: 5,
        };
        assert_eq!(GroupRecord::decode(&rec.encode()).unwrap(), rec);
        assert!(GroupRecord::decode(&[0, 7]).is_err());
    }
}
