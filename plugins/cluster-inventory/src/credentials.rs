//! Whether a literal value, under its name, is a credential written in
//! clear: by its name (`DB_PASSWORD`), or by what it holds whatever its name
//! (a PEM private key, a bearer token, a password inside a URL, or any of
//! these base64-encoded). Only the reason is returned: values never leave
//! this module.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Parts of a key or variable name that say it holds a credential.
const CREDENTIAL_WORDS: &[&str] =
    &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "API_KEY", "PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY"];

/// Whether a key or variable name looks like it holds a credential
/// (`DB_PASSWORD`, `apiToken`, `aws_secret_access_key`).
pub fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    CREDENTIAL_WORDS.iter().any(|w| upper.contains(w) || upper.replace('_', "").contains(&w.replace('_', "")))
}

/// An absolute file path (`/etc/app/password`): where a credential is kept,
/// not the credential.
fn file_path(value: &str) -> bool {
    value.starts_with('/') && value.len() > 1 && value.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+@~".contains(c))
}

/// `true` or `false`: a switch (`--use-service-account-credentials=true`),
/// not a secret.
fn switch(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

/// `$(OTHER_VAR)`: the kubelet substitutes another variable; nothing literal.
fn reference(value: &str) -> bool {
    value.starts_with("$(") && value.ends_with(')') && !value[2..value.len() - 1].contains([' ', '(', ')'])
}

/// What a value holds that is a credential whatever its name.
fn content(value: &str, depth: u8) -> Option<&'static str> {
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") {
        return Some("PEM private key");
    }
    if bearer(value) {
        return Some("bearer token");
    }
    if url_password(value) {
        return Some("password in a URL");
    }
    if depth == 0 && decoded(value).is_some_and(|text| content(&text, 1).is_some() || assignments(&text)) {
        return Some("base64 of a credential");
    }
    None
}

/// `Bearer <token>` in any letter case, alone or after `Authorization:`.
fn bearer(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.match_indices("bearer").any(|(i, _)| {
        let before_ok = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
        let rest = &value[i + "bearer".len()..];
        let token = rest.trim_start();
        before_ok && rest.len() > token.len() && token.split_whitespace().next().is_some_and(|t| t.len() >= 8)
    })
}

/// `scheme://user:password@host`.
fn url_password(value: &str) -> bool {
    value.split_whitespace().any(|word| {
        let Some((_, rest)) = word.split_once("://") else { return false };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority.rsplit_once('@').and_then(|(userinfo, _)| userinfo.split_once(':')).is_some_and(|(_, password)| !password.is_empty())
    })
}

/// Lines of `NAME=value`, `name: value` or `"name": "value"` with a
/// credential-like name and a value (decoded .env files, configs, JSON).
fn assignments(text: &str) -> bool {
    text.split(['\n', ',', '{', '}', '&', ';']).any(|line| {
        let Some((name, value)) = line.split_once(['=', ':']) else { return false };
        let (name, value) = (name.trim().trim_matches(['"', '\'']), value.trim().trim_matches(['"', '\'']));
        credential_name(name) && !value.is_empty() && !file_path(value)
    })
}

/// The text a base64 value encodes, when it is base64 of printable text
/// (standard or URL-safe alphabet, padded or not).
fn decoded(value: &str) -> Option<String> {
    let v = value.trim();
    if v.len() < 16 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/-_=".contains(&b)) {
        return None;
    }
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(v).ok())?;
    let text = String::from_utf8(bytes).ok()?;
    text.chars().all(|c| !c.is_control() || c.is_whitespace()).then_some(text)
}

/// Why a literal value under `name` is a credential in clear, or `None`.
///
/// ```
/// use cluster_inventory::credentials::why;
/// assert_eq!(why("DB_PASSWORD", "hunter2"), Some("credential-like name"));
/// assert_eq!(why("PASSWORD_PATH", "/etc/app/password"), None);
/// assert_eq!(why("AUTH_HEADER", "bEaReR abcdefgh12345"), Some("bearer token"));
/// assert_eq!(why("LOG_LEVEL", "debug"), None);
/// ```
pub fn why(name: &str, value: &str) -> Option<&'static str> {
    if value.trim().is_empty() || reference(value.trim()) {
        return None;
    }
    if let Some(reason) = content(value, 0) {
        return Some(reason);
    }
    let v = value.trim();
    (credential_name(name) && !file_path(v) && !switch(v)).then_some("credential-like name")
}

/// Why a `--name=value` argument is a credential in clear. Flag names carry
/// the credential word inside settings about credentials
/// (`--service-account-max-token-expiration=48h`), so by name only a flag
/// whose last word is one counts (`--db-password`, `--bootstrap-token`).
///
/// ```
/// use cluster_inventory::credentials::why_flag;
/// assert_eq!(why_flag("db-password", "hunter2"), Some("credential-like name"));
/// assert_eq!(why_flag("service-account-max-token-expiration", "48h"), None);
/// ```
pub fn why_flag(name: &str, value: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase().replace(['-', '.'], "_");
    let last = upper.rsplit('_').next().unwrap_or("");
    let by_name = ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "APIKEY", "CREDENTIAL", "CREDENTIALS"].contains(&last)
        || ["API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "SECRET_KEY"].iter().any(|w| upper.ends_with(w));
    match why(name, value) {
        Some("credential-like name") if !by_name => None,
        other => other,
    }
}

/// Why a ConfigMap's binaryData entry (base64 of raw bytes) holds a
/// credential: only by what it decodes to, a key by name or by content.
pub fn why_binary(name: &str, encoded: &str) -> Option<&'static str> {
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
        return Some("PEM private key");
    }
    (credential_name(name) && !bytes.is_empty()).then_some("credential-like name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn pem_private_keys_are_found_under_any_name() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(why("TLS_KEY", key), Some("PEM private key"));
        assert_eq!(
            why("config", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----"),
            Some("PEM private key")
        );
        assert_eq!(why("CA_CERT", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"), None, "a certificate is public");
    }

    #[test]
    fn bearer_tokens_are_found_in_any_letter_case() {
        for v in [
            "Bearer eyJhbGciOiJSUzI1NiJ9",
            "bearer eyJhbGciOiJSUzI1NiJ9",
            "BEARER eyJhbGciOiJSUzI1NiJ9",
            "Authorization: bEaReR 0123456789abcdef",
        ] {
            assert_eq!(why("HEADER", v), Some("bearer token"), "{v}");
        }
        assert_eq!(why("MODE", "bearer"), None, "the word alone is no token");
        assert_eq!(why("NOTE", "use a bearer-less scheme"), None);
    }

    #[test]
    fn base64_of_credentials_is_decoded() {
        assert_eq!(
            why("DATA", &b64("-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n")),
            Some("base64 of a credential")
        );
        assert_eq!(why("ENV_FILE", &b64("DB_HOST=db\nDB_PASSWORD=hunter2\n")), Some("base64 of a credential"));
        assert_eq!(why("CONFIG", &b64(r#"{"user": "app", "password": "hunter2"}"#)), Some("base64 of a credential"));
        assert_eq!(why("AUTH", &b64("Bearer 0123456789abcdef")), Some("base64 of a credential"));
        assert_eq!(why("GREETING", &b64("hello world, nothing to see here")), None);
        assert_eq!(why("CHECKSUM", "0123456789abcdef0123456789abcdef"), None, "hex is not base64 of text");
    }

    #[test]
    fn names_flag_literal_values_but_not_paths_or_references() {
        assert_eq!(why("api-token", "abc"), Some("credential-like name"));
        assert_eq!(why("awsSecretAccessKey", "x"), Some("credential-like name"));
        assert_eq!(why("DB_PASSWORD_PATH", "/etc/db/password"), None);
        assert_eq!(why("TOKEN_FILE", "/var/run/secrets/kubernetes.io/serviceaccount/token"), None);
        assert_eq!(why("DB_PASSWORD", "$(POSTGRES_PASSWORD)"), None, "a reference to another variable");
        assert_eq!(why("DB_PASSWORD", "/not a path but a password"), Some("credential-like name"));
        assert_eq!(why("DB_PASSWORD", ""), None);
        assert_eq!(why("ENABLE_TOKEN_AUTH", "true"), None, "a switch");
    }

    #[test]
    fn flags_count_by_name_only_when_they_name_the_credential() {
        assert_eq!(why_flag("password", "hunter2"), Some("credential-like name"));
        assert_eq!(why_flag("aws-secret-access-key", "x"), Some("credential-like name"));
        assert_eq!(why_flag("use-service-account-credentials", "true"), None);
        assert_eq!(why_flag("token-auth-file", "/etc/kubernetes/tokens.csv"), None);
        assert_eq!(why_flag("tls-cert-data", "-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----"), Some("PEM private key"));
    }

    #[test]
    fn passwords_inside_urls_are_found() {
        assert_eq!(why("DATABASE_URL", "postgres://app:hunter2@db:5432/shop"), Some("password in a URL"));
        assert_eq!(why("DATABASE_URL", "postgres://app@db:5432/shop"), None);
        assert_eq!(why("UPSTREAM", "http://10.0.0.1:8080/path?q=a:b@c"), None, "a port is not a password");
    }

    #[test]
    fn binary_data_is_judged_by_what_it_decodes_to() {
        assert_eq!(why_binary("key.bin", &b64("-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----")), Some("PEM private key"));
        assert_eq!(why_binary("logo.png", &STANDARD.encode([0x89, b'P', b'N', b'G'])), None);
    }
}
