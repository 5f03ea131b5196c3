//! DescribeUserScramCredentials (v0): the SCRAM mechanisms and iterations of the users named
//! (all users when none are named), never the credentials themselves. A user named twice is
//! DUPLICATE_RESOURCE, one without credentials RESOURCE_NOT_FOUND, with Kafka's messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    ApiKey, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};

use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// Answers one request.
pub fn describe(
    ctx: &ApiContext,
    req: &DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    // user -> named more than once
    let mut users: BTreeMap<String, bool> = BTreeMap::new();
    match req.users.as_deref() {
        None | Some([]) => {
            for user in ctx.scram.users().into_keys() {
                users.insert(user, false);
            }
        }
        Some(named) => {
            for u in named {
                let twice = users.contains_key(u.name.as_str());
                users.insert(u.name.to_string(), twice);
            }
        }
    }
    let results = users
        .into_iter()
        .map(|(user, twice)| {
            let result = DescribeUserScramCredentialsResult::default().with_user(text(user.clone()));
            if twice {
                return result
                    .with_error_code(ResponseError::DuplicateResource.code())
                    .with_error_message(Some(text(format!(
                        "Cannot describe SCRAM credentials for the same user twice in a single request: {user}"
                    ))));
            }
            let infos: Vec<CredentialInfo> = ctx
                .scram
                .describe(&user)
                .into_iter()
                .map(|(m, iterations)| {
                    CredentialInfo::default()
                        .with_mechanism(m.code())
                        .with_iterations(iterations)
                })
                .collect();
            if infos.is_empty() {
                result
                    .with_error_code(ResponseError::ResourceNotFound.code())
                    .with_error_message(Some(text(format!(
                        "Attempt to describe a user credential that does not exist: {user}"
                    ))))
            } else {
                result.with_credential_infos(infos)
            }
        })
        .collect();
    DescribeUserScramCredentialsResponse::default().with_results(results)
}

/// DescribeUserScramCredentials: which SCRAM credentials users have.
pub struct DescribeUserScramCredentials;

impl Api for DescribeUserScramCredentials {
    type Request = DescribeUserScramCredentialsRequest;
    type Response = DescribeUserScramCredentialsResponse;
    const KEY: ApiKey = ApiKey::DescribeUserScramCredentials;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeUserScramCredentialsRequest,
    ) -> Handled<DescribeUserScramCredentialsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return DescribeUserScramCredentialsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .with_error_message(Some(text("Cluster authorization failed.")))
                .into();
        }
        describe(ctx, &request).into()
    }
}
