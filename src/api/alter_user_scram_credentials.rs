//! AlterUserScramCredentials (v0): creates, replaces and deletes SCRAM credentials. The client
//! sends the salted password; the broker keeps StoredKey and ServerKey derived from it. As in
//! Kafka's controller, a user named twice in one request is DUPLICATE_RESOURCE and nothing of
//! it is applied, iterations outside 4096–16384 are UNACCEPTABLE_CREDENTIAL, an unknown
//! mechanism UNSUPPORTED_SASL_MECHANISM, and deleting a missing credential RESOURCE_NOT_FOUND.
//! The accepted changes are written to the state store together before the answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
};

use super::error::sasl_error_code;
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};
use crate::broker::security::credentials::CredentialChange;
use crate::broker::security::scram::{
    ScramCredential, ScramMechanism, MAX_ITERATIONS, MIN_ITERATIONS,
};
use crate::broker::security::SaslError;

const TWICE: &str = "A user credential cannot be altered twice in the same request";

fn mechanism_of(user: &str, code: i8) -> Result<ScramMechanism, SaslError> {
    if user.is_empty() {
        return Err(SaslError::UnacceptableCredential(
            "Username must not be empty".into(),
        ));
    }
    ScramMechanism::from_code(code).ok_or(SaslError::UnknownScramMechanism)
}

/// Answers one request.
pub fn alter(
    ctx: &ApiContext,
    req: &AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut deletions: BTreeMap<String, CredentialChange> = BTreeMap::new();
    let mut upsertions: BTreeMap<String, CredentialChange> = BTreeMap::new();
    let mut errors: BTreeMap<String, SaslError> = BTreeMap::new();
    for d in &req.deletions {
        let user = d.name.to_string();
        if errors.contains_key(&user) {
            continue;
        }
        if deletions.remove(&user).is_some() {
            errors.insert(user, SaslError::Duplicate(TWICE.into()));
            continue;
        }
        let checked = mechanism_of(&user, d.mechanism).and_then(|mechanism| {
            if ctx.scram.get(&user, mechanism).is_none() {
                return Err(SaslError::NotFound(
                    "Attempt to delete a user credential that does not exist".into(),
                ));
            }
            Ok(mechanism)
        });
        match checked {
            Ok(mechanism) => {
                deletions.insert(user.clone(), CredentialChange::Delete { user, mechanism });
            }
            Err(e) => {
                errors.insert(user, e);
            }
        }
    }
    for u in &req.upsertions {
        let user = u.name.to_string();
        if errors.contains_key(&user) {
            continue;
        }
        if deletions.remove(&user).is_some() || upsertions.remove(&user).is_some() {
            errors.insert(user, SaslError::Duplicate(TWICE.into()));
            continue;
        }
        let checked = mechanism_of(&user, u.mechanism).and_then(|mechanism| {
            if u.iterations < MIN_ITERATIONS {
                return Err(SaslError::UnacceptableCredential(
                    "Too few iterations".into(),
                ));
            }
            if u.iterations > MAX_ITERATIONS {
                return Err(SaslError::UnacceptableCredential(
                    "Too many iterations".into(),
                ));
            }
            Ok(mechanism)
        });
        match checked {
            Ok(mechanism) => {
                let credential = ScramCredential::from_salted_password(
                    mechanism,
                    &u.salted_password,
                    u.salt.to_vec(),
                    u.iterations,
                );
                upsertions.insert(
                    user.clone(),
                    CredentialChange::Upsert {
                        user,
                        mechanism,
                        credential,
                    },
                );
            }
            Err(e) => {
                errors.insert(user, e);
            }
        }
    }
    let ok_users: Vec<String> = deletions.keys().chain(upsertions.keys()).cloned().collect();
    let changes: Vec<CredentialChange> = deletions
        .into_values()
        .chain(upsertions.into_values())
        .collect();
    let mut results = Vec::new();
    match ctx.scram.apply(&changes) {
        Ok(()) => {
            for user in ok_users {
                results.push(
                    AlterUserScramCredentialsResult::default()
                        .with_user(text(user))
                        .with_error_message(None),
                );
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "storing SCRAM credentials failed");
            for user in ok_users {
                results.push(
                    AlterUserScramCredentialsResult::default()
                        .with_user(text(user))
                        .with_error_code(sasl_error_code(&e))
                        .with_error_message(Some(text(e.to_string()))),
                );
            }
        }
    }
    for (user, e) in errors {
        results.push(
            AlterUserScramCredentialsResult::default()
                .with_user(text(user))
                .with_error_code(sasl_error_code(&e))
                .with_error_message(Some(text(e.to_string()))),
        );
    }
    AlterUserScramCredentialsResponse::default().with_results(results)
}

/// Every user refused with CLUSTER_AUTHORIZATION_FAILED, as Kafka answers a caller without
/// ALTER on the cluster.
fn denied_alter_user_scram_credentials(
    req: &AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut users: Vec<&str> = req
        .deletions
        .iter()
        .map(|d| d.name.as_str())
        .chain(req.upsertions.iter().map(|u| u.name.as_str()))
        .collect();
    users.sort_unstable();
    users.dedup();
    AlterUserScramCredentialsResponse::default().with_results(
        users
            .into_iter()
            .map(|u| {
                AlterUserScramCredentialsResult::default()
                    .with_user(text(u))
                    .with_error_code(
                        kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                    )
                    .with_error_message(Some(text("Cluster authorization failed.")))
            })
            .collect(),
    )
}

/// AlterUserScramCredentials: creates, replaces and deletes SCRAM credentials.
pub struct AlterUserScramCredentials;

impl Api for AlterUserScramCredentials {
    type Request = AlterUserScramCredentialsRequest;
    type Response = AlterUserScramCredentialsResponse;
    const KEY: ApiKey = ApiKey::AlterUserScramCredentials;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AlterUserScramCredentialsRequest,
    ) -> Handled<AlterUserScramCredentialsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return denied_alter_user_scram_credentials(&request).into();
        }
        alter(ctx, &request).into()
    }
}
