//! `ssl.principal.mapping.rules`: how a client certificate's subject (its distinguished name
//! in RFC 2253 form) becomes a principal name, in Kafka's syntax: a comma-separated list of
//! `DEFAULT` (the name unchanged) and `RULE:pattern/replacement/` with an optional `L` or `U`
//! after the last slash (lower or upper case the result). The first rule whose pattern matches
//! the whole name gives the result; a name no rule matches is refused. Within a pattern or
//! replacement, `\` escapes the next character (so `\/` is a slash and `\,` a comma); the
//! replacement refers to groups as `$1`.

use regex::Regex;

/// One mapping rule.
#[derive(Debug, Clone)]
enum Rule {
    /// The name as it is.
    Default,
    /// A pattern that must match the whole name, replaced by `replacement` (regex crate
    /// syntax), then optionally case-folded.
    Replace {
        whole: Regex,
        pattern: Regex,
        replacement: String,
        case: Case,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

/// Parsed `ssl.principal.mapping.rules`.
#[derive(Debug, Clone)]
pub struct PrincipalMappingRules {
    rules: Vec<Rule>,
}

/// Reads up to the next unescaped `/`; returns the text (escapes kept) and the rest after it.
fn until_slash(text: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '/' => return Some((text.get(..i)?, text.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

/// A Java regex with `\/` escapes as the regex crate reads it.
fn pattern_text(java: &str) -> String {
    java.replace("\\/", "/")
}

/// A Java replacement string (`$1`, `\x` for a literal x) in the regex crate's syntax.
fn replacement_text(java: &str) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push('$');
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

impl PrincipalMappingRules {
    /// Parses the option's value.
    pub fn parse(text: &str) -> Result<PrincipalMappingRules, String> {
        let mut rules = Vec::new();
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            let (rule, after) = if let Some(after) = rest.strip_prefix("DEFAULT") {
                (Rule::Default, after)
            } else if let Some(body) = rest.strip_prefix("RULE:") {
                let (pattern, after) =
                    until_slash(body).ok_or_else(|| format!("invalid rule: `{rest}`"))?;
                let (replacement, after) =
                    until_slash(after).ok_or_else(|| format!("invalid rule: `{rest}`"))?;
                let (case, after) = match after.chars().next() {
                    Some('L') => (Case::Lower, after.get(1..).unwrap_or("")),
                    Some('U') => (Case::Upper, after.get(1..).unwrap_or("")),
                    _ => (Case::Keep, after),
                };
                let pattern = pattern_text(pattern);
                let whole = Regex::new(&format!("^(?:{pattern})$"))
                    .map_err(|e| format!("invalid rule pattern `{pattern}`: {e}"))?;
                let pattern = Regex::new(&pattern)
                    .map_err(|e| format!("invalid rule pattern `{pattern}`: {e}"))?;
                (
                    Rule::Replace {
                        whole,
                        pattern,
                        replacement: replacement_text(replacement),
                        case,
                    },
                    after,
                )
            } else if rest.starts_with(',') {
                // An empty rule is ignored.
                (Rule::Default, rest)
            } else {
                return Err(format!("invalid rule: `{}`", rest.trim()));
            };
            let after = after.trim_start();
            let next = match after.strip_prefix(',') {
                Some(next) => next,
                None if after.is_empty() => after,
                None => return Err(format!("invalid rule: unmatched `{after}`")),
            };
            if !rest.starts_with(',') {
                rules.push(rule);
            }
            rest = next.trim_start();
        }
        Ok(PrincipalMappingRules { rules })
    }

    /// The principal name for `name` (a DN in RFC 2253 form), or `None` if no rule matches.
    pub fn apply(&self, name: &str) -> Option<String> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(name.to_string()),
            Rule::Replace {
                whole,
                pattern,
                replacement,
                case,
            } => whole.is_match(name).then(|| {
                let mapped = pattern.replace_all(name, replacement.as_str()).into_owned();
                match case {
                    Case::Keep => mapped,
                    Case::Lower => mapped.to_lowercase(),
                    Case::Upper => mapped.to_uppercase(),
                }
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keeps_the_name() {
        let r = PrincipalMappingRules::parse("DEFAULT").unwrap();
        assert_eq!(r.apply("CN=a,O=b").as_deref(), Some("CN=a,O=b"));
    }

    #[test]
    fn rules_as_kafka_documents_them() {
        let r = PrincipalMappingRules::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,\n RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,\
             RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L, DEFAULT",
        )
        .unwrap();
        assert_eq!(
            r.apply("CN=kafka-client,OU=ServiceUsers,O=Org").as_deref(),
            Some("kafka-client")
        );
        assert_eq!(
            r.apply("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Santa Clara,ST=CA,C=US")
                .as_deref(),
            Some("duke@javasoft")
        );
        assert_eq!(r.apply("cn=Admin.One,DC=x").as_deref(), Some("admin.one"));
        assert_eq!(r.apply("O=nothing").as_deref(), Some("O=nothing"));
    }

    #[test]
    fn escapes_and_upper_case() {
        let r = PrincipalMappingRules::parse("RULE:^CN=([^,]*)\\/x,.*$/$1\\/y/U").unwrap();
        assert_eq!(r.apply("CN=ab/x,O=z").as_deref(), Some("AB/Y"));
        assert_eq!(
            r.apply("O=z"),
            None,
            "no DEFAULT: an unmatched name is refused"
        );
    }

    #[test]
    fn garbage_is_refused() {
        assert!(PrincipalMappingRules::parse("RULE:abc").is_err());
        assert!(PrincipalMappingRules::parse("NOPE").is_err());
        assert!(PrincipalMappingRules::parse("RULE:(/x/").is_err());
        assert!(PrincipalMappingRules::parse("DEFAULT junk").is_err());
    }
}
