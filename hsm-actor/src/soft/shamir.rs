//! Unseal shares: Shamir's secret sharing over GF(256) (vsss-rs) of the 32-byte unseal key.
//!
//! Text form of a share: base64 of `id ‖ value ‖ check`, where `check` is the first four bytes of
//! `SHA-256("kms-share-v1" ‖ id ‖ value)`. The check catches a mistyped share when it is entered
//! rather than after the threshold is reached.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use vsss_rs::Gf256;
use zeroize::Zeroizing;

use crate::backend::HsmError;
use kms_engine::secret::SecretString;

const CHECK_LEN: usize = 4;

fn check(share: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::new()
        .chain_update(b"kms-share-v1")
        .chain_update(share)
        .finalize();
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

/// Splits `secret` into `count` shares of which `threshold` recover it. A 1-of-1 split is the
/// secret itself (Shamir needs a threshold of at least 2); dev mode uses it.
pub fn split(secret: &[u8], count: u8, threshold: u8) -> Result<Vec<SecretString>, HsmError> {
    if count == 0 || threshold == 0 || threshold > count {
        return Err(HsmError::InvalidParameters(
            "need 1 <= threshold <= shares <= 255".into(),
        ));
    }
    if threshold == 1 && count > 1 {
        return Err(HsmError::InvalidParameters(
            "a threshold of 1 is only allowed with a single share".into(),
        ));
    }
    let raw: Vec<Zeroizing<Vec<u8>>> = if count == 1 {
        let mut share = Zeroizing::new(vec![1u8]);
        share.extend_from_slice(secret);
        vec![share]
    } else {
        Gf256::split_bytes(
            usize::from(threshold),
            usize::from(count),
            secret,
            rand::rng(),
        )
        .map_err(|e| HsmError::InvalidParameters(format!("cannot split the unseal key: {e:?}")))?
        .into_iter()
        .map(Zeroizing::new)
        .collect()
    };
    Ok(raw
        .into_iter()
        .map(|share| {
            let mut text = Zeroizing::new(share.to_vec());
            text.extend_from_slice(&check(&share));
            SecretString::new(STANDARD.encode(&*text))
        })
        .collect())
}

/// Decodes and checks one share's text form; returns `id ‖ value`.
pub fn decode(text: &str) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| HsmError::InvalidShare("not base64"))?,
    );
    if bytes.len() < 2 + CHECK_LEN {
        return Err(HsmError::InvalidShare("too short"));
    }
    let (share, sum) = bytes.split_at(bytes.len() - CHECK_LEN);
    if check(share) != sum {
        return Err(HsmError::InvalidShare("checksum mismatch (mistyped?)"));
    }
    if share[0] == 0 {
        return Err(HsmError::InvalidShare("share identifier 0 is not valid"));
    }
    Ok(Zeroizing::new(share.to_vec()))
}

/// Recovers the secret from decoded shares (all distinct, as many as the threshold).
pub fn combine(shares: &[Zeroizing<Vec<u8>>]) -> Result<Zeroizing<Vec<u8>>, HsmError> {
    match shares {
        [] => Err(HsmError::WrongShares),
        [only] => Ok(Zeroizing::new(only[1..].to_vec())),
        many => {
            let raw: Vec<Vec<u8>> = many.iter().map(|s| s.to_vec()).collect();
            let result = Gf256::combine_bytes(&raw).map_err(|_| HsmError::WrongShares);
            for mut r in raw {
                zeroize::Zeroize::zeroize(&mut r);
            }
            result.map(Zeroizing::new)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(shares: &[SecretString], pick: &[usize]) -> Vec<Zeroizing<Vec<u8>>> {
        pick.iter()
            .map(|i| decode(shares[*i].expose()).unwrap())
            .collect()
    }

    #[test]
    fn any_threshold_subset_recovers_the_secret() {
        let secret = [0x5au8; 32];
        let shares = split(&secret, 5, 3).unwrap();
        assert_eq!(shares.len(), 5);
        for pick in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            assert_eq!(&combine(&decoded(&shares, &pick)).unwrap()[..], &secret);
        }
        // Fewer than the threshold gives something, but not the secret.
        let two = combine(&decoded(&shares, &[0, 1])).unwrap();
        assert_ne!(&two[..], &secret);
    }

    #[test]
    fn one_of_one_is_the_secret_itself() {
        let secret = [7u8; 32];
        let shares = split(&secret, 1, 1).unwrap();
        assert_eq!(&combine(&decoded(&shares, &[0])).unwrap()[..], &secret);
    }

    #[test]
    fn bad_parameters_and_mistyped_shares_are_refused() {
        assert!(split(&[1; 32], 3, 1).is_err());
        assert!(split(&[1; 32], 2, 3).is_err());
        assert!(split(&[1; 32], 0, 0).is_err());
        let shares = split(&[1; 32], 3, 2).unwrap();
        let mut typo = shares[0].expose().to_owned();
        let c = if typo.starts_with('A') { "B" } else { "A" };
        typo.replace_range(0..1, c);
        assert!(matches!(decode(&typo), Err(HsmError::InvalidShare(_))));
        assert!(matches!(decode("%%%"), Err(HsmError::InvalidShare(_))));
    }
}
