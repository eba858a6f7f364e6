//! The archive format (docs/backup.md):
//!
//! ```text
//! "KMSBAK1" ‖ format version (u8) ‖ header length (u32 BE) ‖ header (JSON)
//! then chunks: length (u32 BE) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//! AAD of chunk i = "kms-backup-v1" ‖ SHA-256(everything before the first chunk) ‖ i (u64 BE)
//!                  ‖ final flag (u8)
//! ```
//!
//! The header is authenticated through every chunk's AAD; the index and the final flag make a
//! reordered, dropped, duplicated or truncated chunk fail; bytes after the final chunk are refused.

use kms_engine::algorithm::Algorithm;
use kms_engine::crypto::aead::AeadKey;
use kms_engine::secret::KeyMaterial;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::BackupError;

pub const MAGIC: &[u8; 7] = b"KMSBAK1";
pub const FORMAT_VERSION: u8 = 1;
/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: usize = 64 * 1024;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A header larger than this is not ours.
const MAX_HEADER: usize = 64 * 1024;

/// What the archive says about itself, in clear (it holds no secret: the backup key in it is
/// wrapped by the master key).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    /// The master key that wraps the backup key, and its key check value.
    pub master_key: String,
    pub kcv: String,
    /// The backup key, wrapped by the HSM (hex).
    pub wrapped_key: String,
    /// RFC 3339.
    pub created_at: String,
    /// The store's revision and audit chain head when the snapshot was taken (the snapshot is at
    /// least this recent).
    pub revision: u64,
    pub audit_seq: u64,
    pub audit_head: String,
}

/// A parsed archive: its header and where the chunks start.
pub struct Parsed<'a> {
    pub header: Header,
    prefix_hash: [u8; 32],
    chunks: &'a [u8],
}

fn aad(prefix_hash: &[u8; 32], index: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(13 + 32 + 9);
    aad.extend_from_slice(b"kms-backup-v1");
    aad.extend_from_slice(prefix_hash);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

fn cipher(key: &KeyMaterial) -> Result<AeadKey, BackupError> {
    AeadKey::new(Algorithm::Aes256Gcm, false, key).map_err(BackupError::Engine)
}

/// Encrypts `plaintext` under `key` into a whole archive.
pub fn seal(
    header: &Header,
    key: &KeyMaterial,
    plaintext: &[u8],
    chunk_bytes: usize,
) -> Result<Vec<u8>, BackupError> {
    let json = serde_json::to_vec(header).map_err(|_| BackupError::Format("header"))?;
    let len = u32::try_from(json.len()).map_err(|_| BackupError::Format("header too large"))?;
    let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / chunk_bytes * 32 + 1024);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    let prefix_hash: [u8; 32] = Sha256::digest(&out).into();
    let cipher = cipher(key)?;
    // An empty store still gets one (final, empty) chunk, so truncation to the header fails.
    let chunks: Vec<&[u8]> = if plaintext.is_empty() {
        vec![&[]]
    } else {
        plaintext.chunks(chunk_bytes.max(1)).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        let sealed = cipher
            .seal(&aad(&prefix_hash, i as u64, i == last), chunk)
            .map_err(BackupError::Engine)?;
        let n = u32::try_from(sealed.len()).map_err(|_| BackupError::Format("chunk too large"))?;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// Reads the header (not yet authenticated: [`open`] authenticates it with the chunks).
pub fn parse(archive: &[u8]) -> Result<Parsed<'_>, BackupError> {
    let rest = archive
        .strip_prefix(MAGIC.as_slice())
        .ok_or(BackupError::Format("no KMSBAK1 magic"))?;
    let (&version, rest) = rest.split_first().ok_or(BackupError::Format("truncated"))?;
    if version != FORMAT_VERSION {
        return Err(BackupError::Format("unknown format version"));
    }
    let (len, rest) = take_u32(rest).ok_or(BackupError::Format("truncated"))?;
    if len > MAX_HEADER || rest.len() < len {
        return Err(BackupError::Format("bad header length"));
    }
    let (json, chunks) = rest.split_at(len);
    let header: Header =
        serde_json::from_slice(json).map_err(|_| BackupError::Format("unreadable header"))?;
    let prefix = &archive[..archive.len() - chunks.len()];
    Ok(Parsed {
        header,
        prefix_hash: Sha256::digest(prefix).into(),
        chunks,
    })
}

fn take_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (n, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*n) as usize, rest))
}

/// Decrypts and verifies every chunk. Any failure is [`BackupError::Tampered`]; nothing is
/// returned unless the whole archive checks.
pub fn open(parsed: &Parsed<'_>, key: &KeyMaterial) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    let cipher = cipher(key)?;
    let mut out = Zeroizing::new(Vec::with_capacity(parsed.chunks.len()));
    let mut rest = parsed.chunks;
    let mut index = 0u64;
    loop {
        let (len, after) = take_u32(rest).ok_or(BackupError::Tampered)?;
        if len < NONCE_LEN + TAG_LEN || after.len() < len {
            return Err(BackupError::Tampered);
        }
        let (body, after) = after.split_at(len);
        let last = after.is_empty();
        let plain = cipher
            .open(&aad(&parsed.prefix_hash, index, last), body.to_vec())
            .map_err(|_| BackupError::Tampered)?;
        out.extend_from_slice(&plain);
        if last {
            return Ok(out);
        }
        rest = after;
        index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            master_key: "mk-1".into(),
            kcv: "ABCDEF".into(),
            wrapped_key: "00".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            revision: 7,
            audit_seq: 3,
            audit_head: "11".into(),
        }
    }

    fn data() -> Vec<u8> {
        (0..1000u32).flat_map(|i| i.to_be_bytes()).collect()
    }

    /// Offsets of each chunk's length prefix.
    fn chunk_offsets(archive: &[u8]) -> Vec<usize> {
        let start = archive.len() - parse(archive).unwrap().chunks.len();
        let mut at = start;
        let mut offsets = Vec::new();
        while at < archive.len() {
            offsets.push(at);
            let n = u32::from_be_bytes(archive[at..at + 4].try_into().unwrap()) as usize;
            at += 4 + n;
        }
        offsets
    }

    #[test]
    fn round_trips_across_chunks_and_hides_the_plaintext() {
        let key = KeyMaterial::random(32);
        let archive = seal(&header(), &key, &data(), 1000).unwrap();
        assert_eq!(chunk_offsets(&archive).len(), 4);
        assert!(!archive.windows(16).any(|w| w == &data()[..16]));
        let parsed = parse(&archive).unwrap();
        assert_eq!(parsed.header, header());
        assert_eq!(&open(&parsed, &key).unwrap()[..], &data()[..]);
    }

    #[test]
    fn an_empty_store_is_one_final_chunk() {
        let key = KeyMaterial::random(32);
        let archive = seal(&header(), &key, &[], 1000).unwrap();
        assert_eq!(chunk_offsets(&archive).len(), 1);
        assert!(open(&parse(&archive).unwrap(), &key).unwrap().is_empty());
    }

    #[test]
    fn every_alteration_is_refused() {
        let key = KeyMaterial::random(32);
        let archive = seal(&header(), &key, &data(), 1000).unwrap();
        let offsets = chunk_offsets(&archive);
        let refused = |bytes: &[u8]| {
            matches!(
                parse(bytes).and_then(|p| open(&p, &key)),
                Err(BackupError::Tampered | BackupError::Format(_))
            )
        };
        let mut flipped = archive.clone();
        flipped[offsets[1] + 40] ^= 1;
        assert!(refused(&flipped), "flipped byte");
        assert!(refused(&archive[..offsets[3]]), "dropped final chunk");
        assert!(refused(&archive[..archive.len() - 1]), "truncated");
        let mut swapped = archive[..offsets[1]].to_vec();
        swapped.extend_from_slice(&archive[offsets[2]..offsets[3]]);
        swapped.extend_from_slice(&archive[offsets[1]..offsets[2]]);
        swapped.extend_from_slice(&archive[offsets[3]..]);
        assert_eq!(swapped.len(), archive.len());
        assert!(refused(&swapped), "swapped chunks");
        let mut extra = archive.clone();
        extra.extend_from_slice(&archive[offsets[1]..offsets[2]]);
        assert!(refused(&extra), "a chunk appended after the final one");
        let mut edited = archive.clone();
        let at = archive
            .windows(12)
            .position(|w| w == b"\"revision\":7")
            .unwrap();
        edited[at + 11] = b'8';
        assert!(refused(&edited), "edited header");
        let other = KeyMaterial::random(32);
        assert!(matches!(
            open(&parse(&archive).unwrap(), &other),
            Err(BackupError::Tampered)
        ));
    }
}
