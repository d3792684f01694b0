//! API key material: `ptk_` + 32 random bytes in base62 (43 characters) + a 6-character base62
//! CRC32 of everything before it. 53 characters in all, matching
//! `ptk_[0-9A-Za-z]{43}[0-9A-Za-z]{6}`.
//!
//! The checksum lets [`parse`] refuse a mistyped, truncated or made-up key without touching the
//! database, and lets secret scanners recognise a real key offline. What is stored of a key is
//! its SHA-256 ([`KeyHash`]), its display prefix (the first 12 characters) and a sealed copy
//! (see `master`); the plaintext leaves the server once, in the answer that creates it.

use std::fmt;

use crate::secret::{Secret, base62, random_bytes};

/// The prefix of every API key.
pub const PREFIX: &str = "ptk_";
/// The length of a key: prefix + 43 + 6.
pub const KEY_LEN: usize = PREFIX.len() + base62::ENCODED_32_LEN + CHECKSUM_LEN;
/// The length of the display prefix.
pub const DISPLAY_PREFIX_LEN: usize = 12;
const CHECKSUM_LEN: usize = 6;

/// SHA-256 of a whole key: the only way keys are looked up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret, but there is no reason to print one either.
        f.write_str("KeyHash(…)")
    }
}

/// A well-formed key (prefix, length, alphabet and checksum all correct).
pub struct ParsedKey {
    key: Secret<String>,
}

impl ParsedKey {
    pub fn hash(&self) -> KeyHash {
        use sha2::{Digest, Sha256};
        KeyHash(Sha256::digest(self.key.expose().as_bytes()).into())
    }

    /// The first 12 characters, shown in lists so people can tell keys apart.
    pub fn display_prefix(&self) -> &str {
        &self.key.expose()[..DISPLAY_PREFIX_LEN]
    }

    pub fn secret(&self) -> &Secret<String> {
        &self.key
    }
}

/// Why a string is not a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    Prefix,
    Length,
    Alphabet,
    Checksum,
}

/// Generates a new key from the operating system's randomness.
pub fn generate() -> ParsedKey {
    let mut key = String::with_capacity(KEY_LEN);
    key.push_str(PREFIX);
    base62::encode_32_into(&random_bytes::<32>(), &mut key);
    let checksum = checksum(&key);
    key.extend(checksum.iter().map(|&b| b as char));
    ParsedKey { key: Secret::new(key) }
}

/// Checks a presented key's shape and checksum; touches nothing else.
pub fn parse(candidate: &str) -> Result<ParsedKey, Malformed> {
    if !candidate.starts_with(PREFIX) {
        return Err(Malformed::Prefix);
    }
    if candidate.len() != KEY_LEN {
        return Err(Malformed::Length);
    }
    let body = &candidate[PREFIX.len()..];
    if !base62::is_base62(body) {
        return Err(Malformed::Alphabet);
    }
    let (payload, sum) = candidate.split_at(KEY_LEN - CHECKSUM_LEN);
    if checksum(payload) != sum.as_bytes() {
        return Err(Malformed::Checksum);
    }
    Ok(ParsedKey { key: Secret::new(candidate.to_owned()) })
}

/// CRC32 of `payload` as 6 base62 digits (62⁶ > 2³²), most significant first.
fn checksum(payload: &str) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(payload.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = base62::ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    digits
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = generate();
        let text = key.secret().expose();
        assert_eq!(text.len(), 53);
        assert!(text.starts_with("ptk_"));
        assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(key.display_prefix(), &text[..12]);
        assert!(parse(text).is_ok());
    }

    #[test]
    fn each_kind_of_malformation_is_told_apart() {
        let good = generate().secret().expose().clone();
        assert_eq!(parse(&good.replacen("ptk_", "ptx_", 1)).err(), Some(Malformed::Prefix));
        assert_eq!(parse(&good[..52]).err(), Some(Malformed::Length));
        assert_eq!(parse(&format!("{}!{}", &good[..10], &good[11..])).err(), Some(Malformed::Alphabet));
        let mut flipped = good.clone().into_bytes();
        flipped[20] = if flipped[20] == b'a' { b'b' } else { b'a' };
        assert_eq!(parse(std::str::from_utf8(&flipped).unwrap()).err(), Some(Malformed::Checksum));
    }

    proptest! {
        #[test]
        fn every_generated_key_parses_to_the_same_hash(_seed in 0u8..=255) {
            let key = generate();
            let parsed = parse(key.secret().expose()).unwrap();
            prop_assert_eq!(parsed.hash(), key.hash());
        }

        #[test]
        fn changing_any_one_character_is_detected(position in 4usize..53, replacement in "[0-9A-Za-z]") {
            let key = generate().secret().expose().clone();
            let replacement = replacement.as_bytes()[0];
            prop_assume!(key.as_bytes()[position] != replacement);
            let mut corrupted = key.into_bytes();
            corrupted[position] = replacement;
            let corrupted = String::from_utf8(corrupted).unwrap();
            prop_assert!(parse(&corrupted).is_err());
        }

        #[test]
        fn arbitrary_strings_never_parse_and_never_panic(s in "\\PC{0,80}") {
            prop_assert!(parse(&s).is_err());
        }
    }
}
