//! Secrets kept at rest encrypted (TOTP secrets): a key derived from the signing secret,
//! HMAC-SHA256 in counter mode as the keystream and an HMAC-SHA256 tag over nonce and
//! ciphertext (encrypt-then-MAC). A stored value reads `v1:<base64(nonce ‖ ciphertext ‖ tag)>`;
//! a database copied without the signing secret reveals no secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::error::ApiError;

type HmacSha256 = hmac::Hmac<Sha256>;

const PREFIX: &str = "v1:";
const NONCE: usize = 16;
const TAG: usize = 32;

/// The keys for one purpose, derived from the process's signing secret.
#[derive(Clone)]
pub struct Sealer {
    encryption: [u8; 32],
    authentication: [u8; 32],
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl Sealer {
    pub fn new(secret: &[u8], purpose: &str) -> Sealer {
        Sealer {
            encryption: hmac(secret, &[b"voki sealed encryption ", purpose.as_bytes()]),
            authentication: hmac(secret, &[b"voki sealed authentication ", purpose.as_bytes()]),
        }
    }

    fn keystream(&self, nonce: &[u8], data: &mut [u8]) {
        for (block, chunk) in data.chunks_mut(32).enumerate() {
            let counter = (block as u64).to_be_bytes();
            let pad = hmac(&self.encryption, &[nonce, &counter]);
            for (byte, key) in chunk.iter_mut().zip(pad) {
                *byte ^= key;
            }
        }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let nonce: [u8; NONCE] = rand::random();
        let mut data = plaintext.as_bytes().to_vec();
        self.keystream(&nonce, &mut data);
        let tag = hmac(&self.authentication, &[&nonce, &data]);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        out.extend_from_slice(&tag);
        format!("{PREFIX}{}", STANDARD_NO_PAD.encode(out))
    }

    /// The plaintext of a sealed value; a value stored before sealing existed (no
    /// prefix) is returned as it is, and sealed again at its next write.
    pub fn open(&self, stored: &str) -> Result<String, ApiError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let bytes = STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| ApiError::internal("a sealed value is not base64"))?;
        if bytes.len() < NONCE + TAG {
            return Err(ApiError::internal("a sealed value is truncated"));
        }
        let (nonce, rest) = bytes.split_at(NONCE);
        let (data, tag) = rest.split_at(rest.len() - TAG);
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.authentication).expect("HMAC accepts any key length");
        mac.update(nonce);
        mac.update(data);
        mac.verify_slice(tag)
            .map_err(|_| ApiError::internal("a sealed value does not match the signing secret"))?;
        let mut data = data.to_vec();
        self.keystream(nonce, &mut data);
        String::from_utf8(data).map_err(|_| ApiError::internal("a sealed value is not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_the_same_secret_only() {
        let sealer = Sealer::new(b"0123456789abcdef0123456789abcdef", "totp");
        let sealed = sealer.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("JBSWY3DP"));
        assert_ne!(
            sealed,
            sealer.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open(&sealed).unwrap(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        let other = Sealer::new(b"another-secret-another-secret-xx", "totp");
        assert!(other.open(&sealed).is_err());
        assert_eq!(sealer.open("PLAINLEGACY").unwrap(), "PLAINLEGACY");
    }
}
