//! The cluster id: configured, or generated on first start and kept in the data directory.

use std::path::Path;

use uuid::Uuid;

use super::error::{BrokerError, Result};
use super::meta_file;

/// File name of the cluster id inside the data directory.
pub const CLUSTER_FILE: &str = "cluster.meta";

/// Returns `configured` if set; otherwise the id stored in `data_dir`, creating one.
pub fn load_or_create_cluster_id(data_dir: &Path, configured: &str) -> Result<String> {
    if !configured.is_empty() {
        return Ok(configured.to_string());
    }
    let path = data_dir.join(CLUSTER_FILE);
    if let Some(body) = meta_file::read_checked(&path)? {
        let id = body.trim();
        if id.is_empty() {
            return Err(BrokerError::CorruptMetadata {
                path: path.display().to_string(),
                reason: "empty cluster id".into(),
            });
        }
        return Ok(id.to_string());
    }
    let id = kafka_uuid_string(&Uuid::new_v4());
    meta_file::write_atomic(&path, &format!("{id}\n"))?;
    Ok(id)
}

/// A UUID written as Kafka writes its ids (`Uuid.toString()`): URL-safe base64 of the 16
/// bytes without padding, 22 characters (e.g. `MkU3OEVBNTcwNTJENDM2Qg`).
pub fn kafka_uuid_string(id: &Uuid) -> String {
    /// The URL-safe base64 digit of the low six bits of `v`.
    fn digit(v: u32) -> char {
        let v = (v & 63) as u8;
        char::from(match v {
            0..=25 => b'A' + v,
            26..=51 => b'a' + (v - 26),
            52..=61 => b'0' + (v - 52),
            62 => b'-',
            _ => b'_',
        })
    }
    let mut bits: u32 = 0;
    let mut pending = 0;
    let mut out = String::with_capacity(22);
    for byte in id.as_bytes() {
        bits = (bits << 8) | u32::from(*byte);
        pending += 8;
        while pending >= 6 {
            pending -= 6;
            out.push(digit(bits >> pending));
        }
    }
    if pending > 0 {
        out.push(digit(bits << (6 - pending)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_is_stable_and_configured_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_cluster_id(dir.path(), "").unwrap();
        let b = load_or_create_cluster_id(dir.path(), "").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 22, "Kafka's 22-character form: {a}");
        assert_eq!(
            load_or_create_cluster_id(dir.path(), "mine").unwrap(),
            "mine"
        );
    }

    #[test]
    fn uuids_are_written_as_kafka_writes_them() {
        // URL-safe base64 without padding (checked with Python's base64.urlsafe_b64encode).
        assert_eq!(kafka_uuid_string(&Uuid::nil()), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(kafka_uuid_string(&Uuid::max()), "_____________________w");
        let mixed = Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(kafka_uuid_string(&mixed), "ASNFZ4mrze_-3LqYdlQyEA");
    }
}
