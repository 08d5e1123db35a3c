//! Secrets: generation, hashing, and comparison in constant time.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new secret: `gd_` and 256 random bits in URL-safe base64.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "gd_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `len` random characters from `alphabet`, without modulo bias.
fn random_chars(alphabet: &[u8], len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// A new access key pair, shaped like Huawei Cloud's: a 20-character AK of upper-case
/// letters and digits, and a 40-character SK of letters and digits (about 238 bits).
pub fn access_key_pair() -> (String, String) {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (random_chars(UPPER, 20), random_chars(ALNUM, 40))
}

/// Compares two byte strings in constant time for their length.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// The SHA-256 of a secret. A fast hash is enough: the secrets are 256-bit random values,
/// not passwords.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The hex SHA-256 of a secret: what is stored and looked up.
pub fn hash(secret: &str) -> String {
    hex::encode(digest(secret))
}

/// Compares two digests without leaking through timing where they first differ.
pub fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_and_hash_stably() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert_eq!(hash(&a), hash(&a));
        assert!(same_digest(&digest(&a), &digest(&a)));
        assert!(!same_digest(&digest(&a), &digest(&b)));
        assert_eq!(hash(&a), hex::encode(digest(&a)));
        let (ak, sk) = access_key_pair();
        assert_eq!((ak.len(), sk.len()), (20, 40));
        assert!(ak
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_ne!(access_key_pair(), access_key_pair());
        assert!(same_bytes(b"ab", b"ab") && !same_bytes(b"ab", b"ac") && !same_bytes(b"a", b"ab"));
    }
}
