//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), off the async
//! runtime's worker threads because each hash takes tens of milliseconds by design.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::ApiError;
use crate::secret::Secret;

/// Hashes a password into a PHC string (`$argon2id$v=19$…`).
pub async fn hash(password: &Secret<String>) -> Result<String, ApiError> {
    let password = password.expose().clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(format!("argon2 hash failed: {e}")))
    })
    .await
    .map_err(ApiError::internal)?
}

/// Verifies a password against a stored hash. With no stored hash (unknown email) it verifies
/// against a fixed dummy hash, so that both cases cost the same time and answer alike.
pub async fn verify(password: &Secret<String>, stored: Option<String>) -> Result<bool, ApiError> {
    let password = password.expose().clone();
    let known = stored.is_some();
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::internal(format!("stored password hash is malformed: {e}")))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known)
    })
    .await
    .map_err(ApiError::internal)?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::secret::generate_token("dummy");
        Argon2::default()
            .hash_password(random.expose().as_bytes())
            .expect("hashing a random password succeeds")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pw = Secret::new("correct horse battery".to_owned());
        let h = hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify(&pw, Some(h.clone())).await.unwrap());
        assert!(!verify(&Secret::new("wrong horse battery".to_owned()), Some(h)).await.unwrap());
        assert!(!verify(&pw, None).await.unwrap());
    }
}
