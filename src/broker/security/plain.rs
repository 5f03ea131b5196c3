//! SASL/PLAIN (RFC 4616) on the server: `[authzid] NUL username NUL password`, checked
//! against the users of the listener's JAAS line, with Kafka's messages.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

use super::SaslError;

fn failed(message: &str) -> SaslError {
    SaslError::AuthenticationFailed(message.to_string())
}

/// Checks one PLAIN token against `users`; the authenticated user name.
pub fn authenticate(token: &[u8], users: &BTreeMap<String, String>) -> Result<String, SaslError> {
    let text =
        std::str::from_utf8(token).map_err(|_| failed("Invalid SASL/PLAIN response: not UTF-8"))?;
    let parts: Vec<&str> = text.split('\u{0}').collect();
    let [authzid, username, password] = parts.as_slice() else {
        return Err(SaslError::AuthenticationFailed(format!(
            "Invalid SASL/PLAIN response: expected 3 tokens, got {}",
            parts.len()
        )));
    };
    if username.is_empty() {
        return Err(failed("Authentication failed: username not specified"));
    }
    if password.is_empty() {
        return Err(failed("Authentication failed: password not specified"));
    }
    let ok = users
        .get(*username)
        .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(password.as_bytes())));
    if !ok {
        return Err(failed(
            "Authentication failed: Invalid username or password",
        ));
    }
    if !authzid.is_empty() && authzid != username {
        return Err(failed("Authentication failed: Client requested an authorization id that is different from username"));
    }
    Ok((*username).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        [("alice".to_string(), "secret".to_string())].into()
    }

    #[test]
    fn good_and_bad_tokens() {
        assert_eq!(authenticate(b"\0alice\0secret", &users()).unwrap(), "alice");
        assert_eq!(
            authenticate(b"alice\0alice\0secret", &users()).unwrap(),
            "alice"
        );
        let msg = |t: &[u8]| authenticate(t, &users()).unwrap_err().to_string();
        assert_eq!(
            msg(b"\0alice\0wrong"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(b"\0bob\0secret"),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(b"alice\0secret"),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 2"
        );
        assert_eq!(
            msg(b"\0\0secret"),
            "Authentication failed: username not specified"
        );
        assert!(msg(b"bob\0alice\0secret").contains("authorization id"));
        assert!(msg(&[0xff, 0, 0]).contains("Invalid SASL/PLAIN"));
    }
}
