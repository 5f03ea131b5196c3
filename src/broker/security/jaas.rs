//! The JAAS lines of `listener.name.<l>.<mechanism>.sasl.jaas.config`, in Kafka's syntax:
//! `<LoginModule class> <flag> key="value" key2=value2;` with exactly one login module. The
//! PLAIN users are the `user_<name>="<password>"` options of Kafka's `PlainLoginModule`.

use std::collections::BTreeMap;

/// Kafka's PLAIN login module class.
pub const PLAIN_LOGIN_MODULE: &str = "org.apache.kafka.common.security.plain.PlainLoginModule";

/// One parsed JAAS line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasConfig {
    /// The login module class.
    pub login_module: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// The options, in name order.
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon);
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => s.push(e),
                            None => return Err("unterminated quoted value".into()),
                        },
                        Some(q) if q == c => break,
                        Some(other) => s.push(other),
                        None => return Err("unterminated quoted value".into()),
                    }
                }
                out.push(Token::Quoted(s));
            }
            _ => {
                let mut s = String::new();
                while let Some(&w) = chars.peek() {
                    if w.is_whitespace() || matches!(w, '=' | ';' | '"' | '\'') {
                        break;
                    }
                    s.push(w);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    Ok(out)
}

impl JaasConfig {
    /// Parses one `sasl.jaas.config` value.
    pub fn parse(text: &str) -> Result<JaasConfig, String> {
        let mut it = tokens(text)?.into_iter();
        let Some(Token::Word(login_module)) = it.next() else {
            return Err("a JAAS configuration starts with a login module class".into());
        };
        let flag = match it.next() {
            Some(Token::Word(f))
                if matches!(
                    f.to_ascii_lowercase().as_str(),
                    "required" | "requisite" | "sufficient" | "optional"
                ) =>
            {
                f.to_ascii_lowercase()
            }
            _ => return Err(format!("login module {login_module} has no control flag")),
        };
        let mut options = BTreeMap::new();
        loop {
            match it.next() {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key)) => {
                    if it.next() != Some(Token::Equals) {
                        return Err(format!("option `{key}` has no value"));
                    }
                    let value = match it.next() {
                        Some(Token::Word(v) | Token::Quoted(v)) => v,
                        _ => return Err(format!("option `{key}` has no value")),
                    };
                    options.insert(key, value);
                }
                _ => return Err("a JAAS configuration ends with `;`".into()),
            }
        }
        if it.next().is_some() {
            return Err("a JAAS configuration must contain exactly one login module".into());
        }
        Ok(JaasConfig {
            login_module,
            flag,
            options,
        })
    }

    /// The `user_<name>="<password>"` options: PLAIN users and their passwords.
    pub fn plain_users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_login_module_users() {
        let j = JaasConfig::parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule required \
             username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
             user_alice='a \\\"quoted\\\" pw' user_bob=bob-pw;",
        )
        .unwrap();
        assert_eq!(j.login_module, PLAIN_LOGIN_MODULE);
        assert_eq!(j.flag, "required");
        let users = j.plain_users();
        assert_eq!(users.len(), 3);
        assert_eq!(users["alice"], "a \"quoted\" pw");
        assert_eq!(users["bob"], "bob-pw");
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "Module;",
            "Module required user_a=\"x\"",
            "Module required user_a;",
            "Module required user_a=\"x;",
            "Module maybe;",
            "A required; B required;",
        ] {
            assert!(JaasConfig::parse(bad).is_err(), "{bad}");
        }
    }
}
