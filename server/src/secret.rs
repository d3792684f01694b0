//! Secret material: types that cannot be printed, logged or serialised by accident, and the
//! random tokens Portico hands out.
//!
//! A [`Secret`]'s `Debug` and `Display` print `[redacted]`; it implements neither
//! `Serialize` nor `Clone`-by-default-into-logs. The only way to the value is
//! [`Secret::expose`], which is easy to grep for in review. What Portico stores of a token is
//! its SHA-256 ([`sha256`]), never the token.

use std::fmt;

use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

/// A value that must not leak: passwords, tokens, keys.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret value. Every call site is a place where the secret is used on purpose.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// SHA-256 of a token: what the database stores and looks tokens up by.
pub fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The SHA-256 of `text`, as 64 lower-case hex digits.
pub fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    Sha256::digest(text.as_bytes()).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// `n` bytes from the operating system's randomness.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's randomness is available");
    buf
}

/// A new opaque token: `{prefix}_` + 32 random bytes in base62 (43 characters).
pub fn generate_token(prefix: &str) -> Secret<String> {
    let mut token = String::with_capacity(prefix.len() + 1 + base62::ENCODED_32_LEN);
    token.push_str(prefix);
    token.push('_');
    base62::encode_32_into(&random_bytes::<32>(), &mut token);
    Secret(token)
}

/// Base62 (`0-9A-Za-z`): tokens that survive copy-paste, URLs and double-click selection.
pub mod base62 {
    pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// The fixed length of 32 bytes in base62: ceil(256 / log2(62)) = 43.
    pub const ENCODED_32_LEN: usize = 43;

    /// Appends the fixed-width (zero-padded) base62 form of a 32-byte big-endian number.
    pub fn encode_32_into(bytes: &[u8; 32], out: &mut String) {
        let mut digits = [0u8; ENCODED_32_LEN];
        let mut number = *bytes;
        for digit in digits.iter_mut().rev() {
            // Long division of the 256-bit number by 62, most significant byte first.
            let mut remainder: u32 = 0;
            for byte in number.iter_mut() {
                let acc = (remainder << 8) | u32::from(*byte);
                *byte = (acc / 62) as u8;
                remainder = acc % 62;
            }
            *digit = ALPHABET[remainder as usize];
        }
        out.extend(digits.iter().map(|&d| d as char));
    }

    /// Whether every character is in the base62 alphabet.
    pub fn is_base62(s: &str) -> bool {
        s.bytes().all(|b| b.is_ascii_alphanumeric())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-hunter2".to_owned());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
    }

    #[test]
    fn tokens_have_the_prefix_and_a_fixed_base62_body() {
        let t = generate_token("pts");
        let t = t.expose();
        assert!(t.starts_with("pts_"));
        assert_eq!(t.len(), 4 + 43);
        assert!(base62::is_base62(&t[4..]));
        assert_ne!(generate_token("pts").expose(), t);
    }

    #[test]
    fn base62_pads_small_numbers_and_encodes_the_maximum_in_43_digits() {
        let mut zero = String::new();
        base62::encode_32_into(&[0; 32], &mut zero);
        assert_eq!(zero, "0".repeat(43));

        let mut one = String::new();
        let mut bytes = [0; 32];
        bytes[31] = 61;
        base62::encode_32_into(&bytes, &mut one);
        assert_eq!(one, format!("{}z", "0".repeat(42)));

        let mut max = String::new();
        base62::encode_32_into(&[0xff; 32], &mut max);
        assert_eq!(max.len(), 43);
        assert_ne!(max.as_bytes()[0], b'0');
    }
}
