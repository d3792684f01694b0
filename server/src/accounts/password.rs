//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), bounded.
//!
//! Every sign-up and sign-in hashes, and each hash needs its 19 MiB working memory for tens of
//! milliseconds. Left to the blocking thread pool, a burst of unauthenticated sign-ins ran
//! hundreds at once and took gigabytes that the allocator never gave back. So hashing runs on a
//! small fixed set of threads ([`Hashers`]), each with its own working memory allocated once
//! and reused for every hash: memory is `threads × 19 MiB` whatever the load. Work waits in a
//! bounded queue; past it the caller gets 503 `unavailable` with `retry-after` at once, without
//! any hashing, and `/healthz` and everything else keep answering.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::http::{HeaderValue, header};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use crate::error::{ApiError, ErrorCode};
use crate::secret::Secret;

/// What a hasher thread is asked to do.
enum Work {
    Hash(Secret<String>),
    /// Verify against a stored PHC string; `None` (unknown email) verifies against a dummy
    /// hash, so both cases cost the same and answer alike.
    Verify(Secret<String>, Option<String>),
}

enum Done {
    Hashed(String),
    Verified(bool),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, String>>,
}

/// The password hashers: `threads` OS threads, a queue of at most `queue` waiting jobs.
#[derive(Clone)]
pub struct Hashers {
    jobs: SyncSender<Job>,
    refused: Counter,
}

impl Hashers {
    /// Starts `threads` hashing threads. They end when the last handle is dropped.
    pub fn start(threads: usize, queue: usize, refused: Counter) -> Self {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("portico-argon2-{n}"))
                .spawn(move || work(&receiver));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-hashing thread");
            }
        }
        Self { jobs, refused }
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$…`).
    pub async fn hash(&self, password: &Secret<String>) -> Result<String, ApiError> {
        match self.run(Work::Hash(password.clone())).await? {
            Done::Hashed(phc) => Ok(phc),
            Done::Verified(_) => Err(ApiError::internal("a hasher answered a hash with a verification")),
        }
    }

    /// Verifies a password against a stored hash (`None`: an unknown email, which is `false`
    /// after the same work as a real check).
    pub async fn verify(&self, password: &Secret<String>, stored: Option<String>) -> Result<bool, ApiError> {
        match self.run(Work::Verify(password.clone(), stored)).await? {
            Done::Verified(ok) => Ok(ok),
            Done::Hashed(_) => Err(ApiError::internal("a hasher answered a verification with a hash")),
        }
    }

    async fn run(&self, work: Work) -> Result<Done, ApiError> {
        let (reply, answer) = oneshot::channel();
        match self.jobs.try_send(Job { work, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.refused.inc();
                return Err(busy());
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::internal("the password hashers have stopped"));
            }
        }
        answer
            .await
            .map_err(|_| ApiError::internal("a password hasher dropped its job"))?
            .map_err(ApiError::internal)
    }
}

/// 503 `unavailable` with `retry-after: 1`: every hasher is busy and the queue is full.
fn busy() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "The server is handling too many sign-ins at once; try again in a moment.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// A hasher thread: takes jobs until the queue's sender is gone. Its working memory is
/// allocated on first use and reused for every hash after.
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // The caller gave up (its client went away): skip the work.
        if job.reply.is_closed() {
            continue;
        }
        let done = match job.work {
            Work::Hash(password) => hash_with(&mut memory, password.expose().as_bytes()).map(Done::Hashed),
            Work::Verify(password, stored) => {
                let known = stored.is_some();
                let stored = match stored {
                    Some(stored) => Ok(stored),
                    None => dummy_hash(&mut memory),
                };
                stored
                    .and_then(|s| verify_with(&mut memory, password.expose().as_bytes(), &s))
                    .map(|ok| Done::Verified(ok && known))
            }
        };
        let _ = job.reply.send(done);
    }
}

/// The working memory for `params`, grown (never shrunk) to fit.
fn blocks_for<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::new());
    }
    &mut memory[..needed]
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, String> {
    let params = Params::default();
    let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt_bytes).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let salt = Salt::new(&salt_bytes).map_err(|e| e.to_string())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, blocks_for(memory, &params))
        .map_err(|e| format!("argon2 hash failed: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> Result<bool, String> {
    let malformed = |e: &dyn std::fmt::Display| format!("stored password hash is malformed: {e}");
    let parsed = PasswordHash::new(stored).map_err(|e| malformed(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(|e| malformed(&e))?;
    let version =
        parsed.version.map(Version::try_from).transpose().map_err(|e| malformed(&e))?.unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| malformed(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(malformed(&"no salt or no hash"));
    };
    let mut out = vec![0u8; expected.len()];
    let outcome = Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
        password,
        &salt,
        &mut out,
        blocks_for(memory, &params),
    );
    match outcome {
        // `Output`'s equality is constant-time.
        Ok(()) => Ok(Output::new(&out).is_ok_and(|computed| computed == expected)),
        // A password argon2 refuses (too long) matches nothing.
        Err(argon2::Error::PwdTooLong) => Ok(false),
        Err(e) => Err(format!("argon2 verification failed: {e}")),
    }
}

fn dummy_hash(memory: &mut Vec<Block>) -> Result<String, String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(dummy) = DUMMY.get() {
        return Ok(dummy.clone());
    }
    let random = crate::secret::generate_token("dummy");
    let dummy = hash_with(memory, random.expose().as_bytes())?;
    Ok(DUMMY.get_or_init(|| dummy).clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashers = Hashers::start(1, 4, Counter::default());
        let pw = Secret::new("correct horse battery".to_owned());
        let h = hashers.hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(hashers.verify(&pw, Some(h.clone())).await.unwrap());
        assert!(!hashers.verify(&Secret::new("wrong horse battery".to_owned()), Some(h)).await.unwrap());
        assert!(!hashers.verify(&pw, None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        // Ours verify with the argon2 crate's own verifier, and hashes it made (stored before
        // the hashers existed) verify with ours.
        use argon2::password_hash::PasswordHasher as _;
        let hashers = Hashers::start(1, 4, Counter::default());
        let pw = Secret::new("correct horse battery".to_owned());
        let ours = hashers.hash(&pw).await.unwrap();
        Argon2::default()
            .verify_password(pw.expose().as_bytes(), &PasswordHash::new(&ours).unwrap())
            .unwrap();
        let theirs = Argon2::default().hash_password(pw.expose().as_bytes()).unwrap().to_string();
        assert!(hashers.verify(&pw, Some(theirs)).await.unwrap());
        let err = hashers.verify(&pw, Some("not a hash".into())).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Internal);
    }

    #[tokio::test]
    async fn past_the_queue_callers_get_503_with_retry_after_at_once() {
        // A queue with no room and no thread taking work: every caller is refused.
        let (jobs, _receiver) = std::sync::mpsc::sync_channel::<Job>(0);
        let hashers = Hashers { jobs, refused: Counter::default() };
        let err = hashers.verify(&Secret::new("correct horse battery".to_owned()), None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unavailable);
        let response = axum::response::IntoResponse::into_response(err);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
