//! Enrolment codes, device tokens and office passwords.
//!
//! Codes are short enough to read over a phone call (8 characters from an alphabet without
//! look-alikes, typed with or without the dash), one-time and expiring; tokens are 256 random
//! bits. The server stores only SHA-256 hashes of both (they are high-entropy or short-lived;
//! a slow hash buys nothing there) and Argon2id hashes of passwords.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// The server's clock in seconds: trusted for expiry and last-seen, unlike a device's.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Characters of enrolment codes: no 0/O, 1/I/L.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A new enrolment code, `ABCD-EFGH`.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..8)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// A code as typed (any case, spaces, dashes) in the form that is hashed.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub fn hash_code(typed: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "zhucun-code:{}",
        normalise_code(typed)
    )))
}

/// A new device token: 256 random bits, base64url.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(format!("zhucun-token:{token}")))
}

/// A new device id.
pub fn new_device_id() -> String {
    let mut b = [0u8; 8];
    rand::rng().fill(&mut b);
    format!("dev-{}", hex::encode(b))
}

/// Argon2id hash of an office password (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut raw = [0u8; 16];
    rand::rng().fill(&mut raw);
    let salt = SaltString::encode_b64(&raw).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).ok().is_some_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A unit or person id: lower-case letters, digits, `-` and `_`, 1–64 characters (ids make
/// up scope paths, so nothing else may appear in them).
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(format!(
            "{what} id `{id}` must be 1-64 characters of a-z, 0-9, - and _"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_forgivingly() {
        let c = new_code();
        assert_eq!(c.len(), 9);
        assert_eq!(
            hash_code(&c),
            hash_code(&c.to_lowercase().replace('-', " "))
        );
        assert_ne!(hash_code(&c), hash_code("AAAA-AAAA"));
    }

    #[test]
    fn tokens_are_long_and_random() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn passwords() {
        let h = hash_password("zhucun-demo").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("zhucun-demo", &h));
        assert!(!verify_password("wrong", &h));
    }

    #[test]
    fn ids() {
        assert!(check_id("unit", "town-1").is_ok());
        assert!(check_id("unit", "a/b").is_err());
        assert!(check_id("unit", "").is_err());
        assert!(check_id("unit", "Town").is_err());
    }
}
