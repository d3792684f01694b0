//! The master key: AES-256-GCM, kept outside the database, sealing the copy of each API key
//! that lets the playground inject a stored key server-side.
//!
//! Where it comes from: `PORTICO_MASTER_KEY` (base64 of 32 bytes), or — for the embedded
//! default — `master.key` in the data directory, generated on first start (mode 0600) and
//! reused after. Each sealed value records the id of the master key that sealed it, so the
//! master key can be rotated later. At start-up a master key that cannot open the stored
//! keys is an error, never silently replaced: replacing it would make every stored key
//! unusable in the playground.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::secret::{Secret, random_bytes};

/// The environment variable holding the master key.
pub const ENV: &str = "PORTICO_MASTER_KEY";
/// The file, in the data directory, holding the generated master key.
pub const FILE: &str = "master.key";
const NONCE_LEN: usize = 12;

/// The master key. Prints as its id only.
#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    id: String,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{ENV} must be base64 of exactly 32 bytes")]
    Malformed,
    #[error("{0}")]
    File(String),
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::digest(bytes);
        let id = format!("mk_{}", digest[..6].iter().map(|b| format!("{b:02x}")).collect::<String>());
        Self { cipher: Aes256Gcm::new_from_slice(bytes).expect("32 bytes is an AES-256 key"), id }
    }

    /// Parses base64 of 32 bytes.
    pub fn from_base64(text: &Secret<String>) -> Result<Self, MasterKeyError> {
        let bytes = BASE64.decode(text.expose().trim()).map_err(|_| MasterKeyError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Reads `master.key` from the data directory, generating it when absent and `may_generate`
    /// (no stored keys depend on an earlier one). Returns the key and whether it was generated.
    pub fn load_or_generate(data_dir: &Path, may_generate: bool) -> Result<(Self, bool), MasterKeyError> {
        let path = data_dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&Secret::new(text))
                .map(|k| (k, false))
                .map_err(|_| MasterKeyError::File(format!("{} is not base64 of 32 bytes", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !may_generate {
                    return Err(MasterKeyError::File(format!(
                        "{} is missing, but the database holds API keys sealed with a master key: \
                         restore the file or set {ENV}",
                        path.display()
                    )));
                }
                let bytes = random_bytes::<32>();
                write_private(&path, BASE64.encode(bytes).as_bytes())
                    .map_err(|e| MasterKeyError::File(format!("cannot write {}: {e}", path.display())))?;
                Ok((Self::from_bytes(&bytes), true))
            }
            Err(e) => Err(MasterKeyError::File(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// The id recorded next to every value this key seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Encrypts `plaintext`: a fresh random nonce followed by the ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = self.cipher.encrypt(&nonce, plaintext).expect("AES-GCM encryption of a short value");
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Decrypts what [`MasterKey::seal`] produced; `None` if it was sealed with another key or
    /// tampered with.
    pub fn unseal(&self, sealed: &[u8]) -> Option<Secret<String>> {
        self.unseal_bytes(sealed).and_then(|plaintext| String::from_utf8(plaintext).ok()).map(Secret::new)
    }

    /// Decrypts what [`MasterKey::seal`] made, as bytes; `None` when it was not sealed with
    /// this key (or was altered).
    pub fn unseal_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce_bytes).ok()?;
        self.cipher.decrypt(&nonce, ciphertext).ok()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_needs_the_same_key() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let sealed = key.seal(b"ptk_secret");
        assert!(!sealed.windows(10).any(|w| w == b"ptk_secret"));
        assert_eq!(key.unseal(&sealed).unwrap().expose(), "ptk_secret");
        assert_ne!(key.seal(b"ptk_secret"), sealed, "nonces are fresh");
        let other = MasterKey::from_bytes(&[8; 32]);
        assert!(other.unseal(&sealed).is_none());
        assert_ne!(key.id(), other.id());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.unseal(&tampered).is_none());
    }

    #[test]
    fn the_generated_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, generated) = MasterKey::load_or_generate(dir.path(), true).unwrap();
        assert!(generated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, generated) = MasterKey::load_or_generate(dir.path(), false).unwrap();
        assert!(!generated);
        assert_eq!(first.id(), second.id());
    }

    #[test]
    fn a_missing_file_is_not_regenerated_when_keys_depend_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = MasterKey::load_or_generate(dir.path(), false).unwrap_err();
        assert!(err.to_string().contains("master.key is missing"));
    }

    #[test]
    fn malformed_environment_values_are_refused() {
        for bad in ["", "not base64!", "AAAA"] {
            assert!(MasterKey::from_base64(&Secret::new(bad.to_owned())).is_err());
        }
        let good = BASE64.encode([1u8; 32]);
        assert!(MasterKey::from_base64(&Secret::new(good)).is_ok());
    }
}
