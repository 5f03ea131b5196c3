//! Authorized-operations bit fields (KIP-430): Metadata, DescribeCluster,
//! DescribeTopicPartitions, DescribeGroups and ConsumerGroupDescribe report them when asked.
//! Skiff has no authorizer, so, as Kafka without one, every operation the resource type
//! supports is allowed.

/// The value a response carries when the client did not ask.
pub const OMITTED: i32 = i32::MIN;

// Kafka's AclOperation codes.
const READ: u8 = 3;
const WRITE: u8 = 4;
const CREATE: u8 = 5;
const DELETE: u8 = 6;
const ALTER: u8 = 7;
const DESCRIBE: u8 = 8;
const CLUSTER_ACTION: u8 = 9;
const DESCRIBE_CONFIGS: u8 = 10;
const ALTER_CONFIGS: u8 = 11;
const IDEMPOTENT_WRITE: u8 = 12;

const fn bits(mut ops: &[u8]) -> i32 {
    let mut out = 0i32;
    while let [op, rest @ ..] = ops {
        out |= 1 << *op;
        ops = rest;
    }
    out
}

/// Every operation on the cluster resource.
pub const CLUSTER: i32 = bits(&[
    CREATE,
    ALTER,
    DESCRIBE,
    CLUSTER_ACTION,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
    IDEMPOTENT_WRITE,
]);

/// Every operation on a topic.
pub const TOPIC: i32 = bits(&[
    READ,
    WRITE,
    CREATE,
    DELETE,
    ALTER,
    DESCRIBE,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
]);

/// Every operation on a group.
pub const GROUP: i32 = bits(&[READ, DESCRIBE, DELETE]);

/// `ops` when the client asked for authorized operations, else [`OMITTED`].
pub fn if_requested(requested: bool, ops: i32) -> i32 {
    if requested {
        ops
    } else {
        OMITTED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_fields_match_kafkas_values() {
        // Sums of 1 << code of the operations listed above.
        assert_eq!(CLUSTER, 8096);
        assert_eq!(TOPIC, 3576);
        assert_eq!(GROUP, 328);
        assert_eq!(if_requested(false, TOPIC), OMITTED);
    }
}
