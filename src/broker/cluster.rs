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

pub use crate::storage::log_dir::kafka_uuid_string;

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
