//! Secrets kept at rest under the server's key: a data source's password, an access key's
//! secret key. Sealed with ChaCha20-Poly1305, a random nonce each time, and the object the
//! secret belongs to as associated data, so that a sealed value copied onto another object
//! does not open there.

use std::path::Path;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// What a sealed value starts with; the version names the cipher and layout.
const PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer over a 32-byte key.
    pub fn new(key: [u8; 32]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            key,
        }
    }

    /// A sealer for one purpose, over a key of its own made from this one (HMAC-SHA-256 of
    /// the purpose): what it seals opens with no other purpose's key, and the server key
    /// itself is never used for it.
    pub fn derived(&self, purpose: &str) -> Sealer {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        Sealer::new(mac.finalize().into_bytes().into())
    }

    /// A sealer over a random key, good for this process only.
    pub fn random() -> Sealer {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Sealer::new(key)
    }

    /// Reads the key file: 64 hex digits (surrounding white space ignored).
    pub fn from_file(path: &Path) -> Result<Sealer, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the secret key file {}: {e}", path.display()))?;
        let key = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                format!(
                    "the secret key file {} must hold 64 hex digits (e.g. `openssl rand -hex 32`)",
                    path.display()
                )
            })?;
        Ok(Sealer::new(key))
    }

    /// Reads the key file, first writing a new random key to it (owner-only) if it does
    /// not exist.
    pub fn load_or_create(path: &Path) -> Result<Sealer, String> {
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            write_private(path, &hex::encode(key))
                .map_err(|e| format!("cannot write the secret key file {}: {e}", path.display()))?;
        }
        Sealer::from_file(path)
    }

    /// Whether `value` is a sealed one (else it is clear text written before sealing).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }

    /// Seals `clear` for the object `owner` (e.g. `tenant/data_source:dws1`).
    pub fn seal(&self, owner: &str, clear: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: clear.as_bytes(),
            aad: owner.as_bytes(),
        };
        // Encryption fails only for messages beyond 256 GiB.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// Opens a value sealed for `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<String, String> {
        let refused = || {
            "a stored secret does not open with this server's secret key (another key, or \
             another object's secret)"
                .to_string()
        };
        let encoded = sealed.strip_prefix(PREFIX).ok_or_else(refused)?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, message) = bytes.split_at(NONCE_LEN);
        let clear = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: message,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| refused())?;
        String::from_utf8(clear).map_err(|_| refused())
    }
}

/// Writes a new file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_for_its_owner_and_key() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal("t1/data_source:a", "hunter2");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            sealer.seal("t1/data_source:a", "hunter2"),
            "fresh nonce"
        );
        assert_eq!(
            sealer.open("t1/data_source:a", &sealed).as_deref(),
            Ok("hunter2")
        );
        assert!(
            sealer.open("t2/data_source:a", &sealed).is_err(),
            "another owner"
        );
        assert!(
            Sealer::new([8; 32])
                .open("t1/data_source:a", &sealed)
                .is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(sealer.open("t1/data_source:a", &tampered).is_err());
        assert!(sealer.open("t1/data_source:a", "hunter2").is_err());
    }

    #[test]
    fn a_key_file_is_made_once_and_owner_only() {
        let dir = std::env::temp_dir().join(format!("grantd-seal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("secret.key");
        let first = Sealer::load_or_create(&path).expect("made");
        let sealed = first.seal("o", "x");
        let again = Sealer::load_or_create(&path).expect("read");
        assert_eq!(again.open("o", &sealed).as_deref(), Ok("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").expect("write");
        assert!(Sealer::from_file(&path).is_err());
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
