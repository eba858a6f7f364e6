//! Streaming envelopes for data of any size: the header (format 2) with a chunk size and a salt,
//! then chunks of `chunk size` plaintext bytes, each AES-256-GCM under a key derived for this
//! stream only (HKDF-SHA256 of the data key and the salt), with the nonce
//! `be64(chunk index) ‖ be32(1 if last else 0)` and the hash of the header and context as
//! associated data. Every chunk but the last is full; the last is shorter (empty if the data
//! ends on a chunk boundary), so that a reordered, dropped, or cut-off chunk fails to decrypt
//! rather than going unnoticed (the STREAM construction of Hoang, Reyhanitabar, Rogaway and
//! Vizár).
//!
//! Each stream gets a fresh data key (never cached: its size is unknown when it starts). A
//! decrypting reader gets each chunk's plaintext only after that chunk is authenticated, but
//! the stream as a whole only at its end: on an error, discard what was written.

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use zeroize::Zeroizing;

use super::format::{STREAM, TAG_LEN, associated_data, parse_header, write_header};
use crate::client::{Client, check_key_name};
use crate::error::{Error, Result};
use crate::secret::DataKeyPlaintext;

/// Plaintext bytes per chunk.
pub const CHUNK: u32 = 64 * 1024;
/// The largest chunk a decrypting reader accepts (a header is not trusted to make it allocate
/// more).
const MAX_CHUNK: u32 = 16 << 20;
const SALT_LEN: usize = 32;
const INFO: &[u8] = b"kms-client stream v1";

/// The key and position of one stream.
pub(crate) struct StreamKey {
    cipher: Aes256Gcm,
    aad: [u8; 32],
    next: u64,
}

impl StreamKey {
    pub fn new(
        data_key: &DataKeyPlaintext,
        salt: &[u8],
        header: &[u8],
        context: Option<&[u8]>,
    ) -> Result<Self> {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(salt), data_key.expose());
        let mut okm = Zeroizing::new([0u8; 32]);
        hk.expand(INFO, &mut okm[..])
            .map_err(|_| Error::InvalidArgument("stream key derivation"))?;
        let cipher = Aes256Gcm::new_from_slice(&okm[..])
            .map_err(|_| Error::InvalidArgument("stream key derivation"))?;
        let aad: [u8; 32] = Sha256::digest(associated_data(header, context)).into();
        Ok(Self {
            cipher,
            aad,
            next: 0,
        })
    }

    fn nonce(&self, last: bool) -> aes_gcm::aead::Nonce<Aes256Gcm> {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&self.next.to_be_bytes());
        n[11] = u8::from(last);
        n.into()
    }

    /// Encrypts one chunk in place and appends its tag.
    pub fn seal(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        let nonce = self.nonce(last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.aad, (&mut buf[..]).into())
            .map_err(|_| Error::InvalidArgument("chunk too long"))?;
        buf.extend_from_slice(&tag);
        self.next = self
            .next
            .checked_add(1)
            .ok_or(Error::InvalidArgument("stream too long"))?;
        Ok(())
    }

    /// Decrypts one chunk (ciphertext ‖ tag) in place, leaving its plaintext.
    pub fn open(&mut self, buf: &mut Vec<u8>, last: bool) -> Result<()> {
        if buf.len() < TAG_LEN {
            return Err(Error::DecryptionFailed);
        }
        let split = buf.len() - TAG_LEN;
        let tag = aes_gcm::aead::Tag::<Aes256Gcm>::try_from(&buf[split..])
            .map_err(|_| Error::DecryptionFailed)?;
        let nonce = self.nonce(last);
        self.cipher
            .decrypt_inout_detached(&nonce, &self.aad, (&mut buf[..split]).into(), &tag)
            .map_err(|_| Error::DecryptionFailed)?;
        buf.truncate(split);
        self.next = self.next.checked_add(1).ok_or(Error::DecryptionFailed)?;
        Ok(())
    }
}

/// Reads until `buf` is full or the stream ends; answers how many bytes were read.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        let n = r.read(&mut buf[at..]).await?;
        if n == 0 {
            break;
        }
        at += n;
    }
    Ok(at)
}

async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, out: &mut Vec<u8>, n: usize) -> Result<()> {
    let start = out.len();
    out.resize(start + n, 0);
    if read_full(r, &mut out[start..]).await? < n {
        return Err(Error::MalformedEnvelope("truncated header"));
    }
    Ok(())
}

impl Client {
    /// Encrypts everything `reader` gives into `writer` as a streaming envelope under a fresh
    /// data key of `key`. Answers the plaintext bytes read.
    pub async fn encrypt_stream<R, W>(
        &self,
        key: &str,
        context: Option<&[u8]>,
        mut reader: R,
        mut writer: W,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        check_key_name(key)?;
        let fetched = self.fetch_datakey(key, context).await?;
        let mut header = Vec::new();
        write_header(&mut header, STREAM, key, &fetched.wrapped)?;
        header.extend_from_slice(&CHUNK.to_be_bytes());
        let mut salt = [0u8; SALT_LEN];
        rand::fill(&mut salt[..]);
        header.extend_from_slice(&salt);
        let mut sk = StreamKey::new(&fetched.plaintext, &salt, &header, context)?;
        drop(fetched);
        writer.write_all(&header).await?;
        let chunk = CHUNK as usize;
        let mut buf = Zeroizing::new(Vec::with_capacity(chunk + TAG_LEN));
        let mut total = 0u64;
        loop {
            buf.clear();
            buf.resize(chunk, 0);
            let n = read_full(&mut reader, &mut buf[..]).await?;
            buf.truncate(n);
            total += n as u64;
            let last = n < chunk;
            sk.seal(&mut buf, last)?;
            writer.write_all(&buf).await?;
            if last {
                break;
            }
        }
        writer.flush().await?;
        Ok(total)
    }

    /// Decrypts a streaming envelope from `reader` into `writer`, with the context it was made
    /// with. Answers the plaintext bytes written. On an error, what was written is not to be
    /// used: the stream was tampered with or cut off.
    pub async fn decrypt_stream<R, W>(
        &self,
        context: Option<&[u8]>,
        mut reader: R,
        mut writer: W,
    ) -> Result<u64>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        // The header, field by field (its lengths are in it).
        let mut header = Vec::with_capacity(256);
        read_exact(&mut reader, &mut header, 6).await?;
        if &header[..4] != super::format::MAGIC || header[4] != STREAM {
            return Err(Error::MalformedEnvelope("not a streaming envelope"));
        }
        let name_len = usize::from(header[5]);
        read_exact(&mut reader, &mut header, name_len + 2).await?;
        let wrapped_len = usize::from(u16::from_be_bytes([
            header[6 + name_len],
            header[7 + name_len],
        ]));
        read_exact(&mut reader, &mut header, wrapped_len + 4).await?;
        let fixed = header.len();
        read_exact(&mut reader, &mut header, 4 + SALT_LEN).await?;
        let (parsed, parsed_len) = parse_header(&header)?;
        if parsed_len != fixed {
            return Err(Error::MalformedEnvelope("header"));
        }
        let c = &header[fixed..fixed + 4];
        let chunk_size = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        if chunk_size == 0 || chunk_size > MAX_CHUNK {
            return Err(Error::MalformedEnvelope("chunk size"));
        }
        let salt = header[fixed + 4..].to_vec();
        let data_key = self
            .unwrap_datakey(parsed.key, parsed.wrapped, context)
            .await?;
        let mut sk = StreamKey::new(&data_key, &salt, &header, context)?;
        drop(data_key);
        let full = chunk_size as usize + TAG_LEN;
        let mut buf = Zeroizing::new(Vec::with_capacity(full));
        let mut total = 0u64;
        loop {
            buf.clear();
            buf.resize(full, 0);
            let n = read_full(&mut reader, &mut buf[..]).await?;
            buf.truncate(n);
            let last = n < full;
            sk.open(&mut buf, last)?;
            writer.write_all(&buf).await?;
            total += buf.len() as u64;
            if last {
                let mut extra = [0u8; 1];
                if reader.read(&mut extra).await? != 0 {
                    return Err(Error::MalformedEnvelope("data after the last chunk"));
                }
                break;
            }
        }
        writer.flush().await?;
        Ok(total)
    }
}

/// A `std::io::Read` seen as `AsyncRead`, for the blocking client: it blocks the thread that
/// polls it, which is the caller's own thread inside `block_on`.
pub(crate) struct BlockingReader<R>(pub R);

impl<R: Read + Unpin> AsyncRead for BlockingReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        let n = me.0.read(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A `std::io::Write` seen as `AsyncWrite` (see [`BlockingReader`]).
pub(crate) struct BlockingWriter<W>(pub W);

impl<W: Write + Unpin> AsyncWrite for BlockingWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.get_mut().0.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}
