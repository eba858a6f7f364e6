//! HTTP/1.1 on the wire: requests written into a buffer, answers read from a buffered stream
//! (`Content-Length`, `chunked`, or until the connection closes).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use zeroize::Zeroizing;

use super::message::{FailureKind, Request, Response, SendError};

/// Answers bigger than this are refused (the server's largest is a 10 000-item batch).
const MAX_ANSWER: usize = 64 << 20;
const MAX_HEADERS: usize = 48;
const READ_CHUNK: usize = 32 * 1024;

/// Appends `req` to `out`. `head` holds the header lines common to every request to the node
/// (`Host:`, `Authorization:`), each ending in CRLF.
pub fn encode_request(out: &mut Vec<u8>, req: &Request, head: &[u8]) {
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(req.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(head);
    if !req.body.is_empty() {
        out.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(req.body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&req.body);
}

/// One answer's head.
struct Head {
    status: u16,
    len: usize,
    body: BodyKind,
    retry_after: Option<Duration>,
    close: bool,
}

#[derive(Clone, Copy)]
enum BodyKind {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn protocol(detail: impl Into<String>) -> SendError {
    SendError::sent(FailureKind::Protocol, detail)
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, SendError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(protocol(format!("bad answer head: {e}"))),
    };
    let status = parsed.code.ok_or_else(|| protocol("no status"))?;
    let mut close = parsed.version == Some(0);
    let (mut length, mut chunked, mut retry_after) = (None, false, None);
    for h in parsed.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| protocol("bad Content-Length"))?,
            );
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().ends_with("chunked");
        } else if h.name.eq_ignore_ascii_case("retry-after") {
            retry_after = value.parse::<u64>().ok().map(Duration::from_secs);
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        BodyKind::Empty
    } else if chunked {
        BodyKind::Chunked
    } else if let Some(n) = length {
        if n > MAX_ANSWER {
            return Err(protocol("answer too large"));
        }
        BodyKind::Length(n)
    } else {
        BodyKind::UntilClose
    };
    Ok(Some(Head {
        status,
        len,
        body,
        retry_after,
        close: close || matches!(body, BodyKind::UntilClose),
    }))
}

/// A chunked body complete in `buf`: the body and the bytes it took, or `None` if more is
/// needed.
fn parse_chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, SendError> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(eol) = find_crlf(&buf[at..]) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..at + eol]).map_err(|_| protocol("chunk size"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| protocol("chunk size"))?;
        at += eol + 2;
        if size == 0 {
            // Trailers, if any, then an empty line.
            loop {
                let Some(eol) = find_crlf(&buf[at..]) else {
                    return Ok(None);
                };
                at += eol + 2;
                if eol == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        if body.len() + size > MAX_ANSWER {
            return Err(protocol("answer too large"));
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err(protocol("chunk not followed by CRLF"));
        }
        at += size + 2;
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Reads answers one after another from one connection, keeping what it read ahead.
pub struct ResponseReader {
    buf: Zeroizing<Vec<u8>>,
    start: usize,
}

impl Default for ResponseReader {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseReader {
    pub fn new() -> Self {
        Self {
            buf: Zeroizing::new(Vec::with_capacity(READ_CHUNK)),
            start: 0,
        }
    }

    /// Reads more; `false` at the end of the stream.
    async fn fill<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<bool, SendError> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > READ_CHUNK {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.reserve(READ_CHUNK);
        let n = r
            .read_buf(&mut *self.buf)
            .await
            .map_err(|e| SendError::sent(FailureKind::Io, e.to_string()))?;
        Ok(n > 0)
    }

    /// The next answer and whether the node will close the connection after it; `None` when
    /// the node closed the connection cleanly between answers.
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
    ) -> Result<Option<(Response, bool)>, SendError> {
        let head = loop {
            if self.start < self.buf.len() {
                if let Some(head) = parse_head(&self.buf[self.start..])? {
                    break head;
                }
                if self.buf.len() - self.start > 64 * 1024 {
                    return Err(protocol("answer head too large"));
                }
            }
            if !self.fill(r).await? {
                if self.start == self.buf.len() {
                    return Ok(None);
                }
                return Err(SendError::sent(
                    FailureKind::Io,
                    "connection closed mid-answer",
                ));
            }
        };
        self.start += head.len;
        let body = match head.body {
            BodyKind::Empty => Vec::new(),
            BodyKind::Length(n) => {
                while self.buf.len() - self.start < n {
                    if !self.fill(r).await? {
                        return Err(SendError::sent(
                            FailureKind::Io,
                            "connection closed mid-body",
                        ));
                    }
                }
                let body = self.buf[self.start..self.start + n].to_vec();
                self.start += n;
                body
            }
            BodyKind::Chunked => loop {
                if let Some((body, used)) = parse_chunked(&self.buf[self.start..])? {
                    self.start += used;
                    break body;
                }
                if !self.fill(r).await? {
                    return Err(SendError::sent(
                        FailureKind::Io,
                        "connection closed mid-body",
                    ));
                }
            },
            BodyKind::UntilClose => {
                while self.fill(r).await? {
                    if self.buf.len() - self.start > MAX_ANSWER {
                        return Err(protocol("answer too large"));
                    }
                }
                let body = self.buf[self.start..].to_vec();
                self.start = self.buf.len();
                body
            }
        };
        let response = Response {
            status: head.status,
            body: Zeroizing::new(body),
            retry_after: head.retry_after,
        };
        Ok(Some((response, head.close)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::message::Method;

    /// Feeds `bytes` to a reader in pieces of `step` bytes, as a slow network would.
    async fn read_all(bytes: &[u8], step: usize) -> Vec<(u16, Vec<u8>, Option<Duration>, bool)> {
        let (mut tx, mut rx) = tokio::io::duplex(1 << 20);
        let data = bytes.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in data.chunks(step) {
                tx.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut reader = ResponseReader::new();
        let mut out = Vec::new();
        loop {
            match reader.next(&mut rx).await {
                Ok(Some((r, close))) => out.push((r.status, r.body.to_vec(), r.retry_after, close)),
                Ok(None) => break,
                Err(e) => panic!("{e:?}"),
            }
            if out.len() == 4 {
                break;
            }
        }
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn pipelined_answers_of_every_framing_are_read_in_order() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello\
HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\ncontent-length: 2\r\n\r\n{}\
HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n\
HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
        for step in [1, 7, wire.len()] {
            let got = read_all(wire, step).await;
            assert_eq!(got.len(), 4, "step {step}");
            assert_eq!(got[0], (200, b"hello".to_vec(), None, false));
            assert_eq!(
                got[1],
                (503, b"{}".to_vec(), Some(Duration::from_secs(2)), false)
            );
            assert_eq!(got[2], (200, b"abcde".to_vec(), None, false));
            assert_eq!(got[3], (204, Vec::new(), None, true));
        }
    }

    #[tokio::test]
    async fn a_connection_closed_mid_answer_is_an_error_and_between_answers_is_not() {
        let (tx, mut rx) = tokio::io::duplex(1024);
        drop(tx);
        assert!(ResponseReader::new().next(&mut rx).await.unwrap().is_none());
        let (mut tx, mut rx) = tokio::io::duplex(1024);
        use tokio::io::AsyncWriteExt;
        tx.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc")
            .await
            .unwrap();
        drop(tx);
        let e = ResponseReader::new().next(&mut rx).await.err().unwrap();
        assert!(e.sent);
        assert_eq!(e.kind, FailureKind::Io);
        let (mut tx, mut rx) = tokio::io::duplex(1024);
        tx.write_all(b"SMTP ready\r\n\r\n").await.unwrap();
        let e = ResponseReader::new().next(&mut rx).await.err().unwrap();
        assert_eq!(e.kind, FailureKind::Protocol);
    }

    #[test]
    fn requests_are_encoded_with_the_common_head_and_a_length() {
        let req = Request {
            method: Method::Post,
            path: "/v1/keys/cards/encrypt".into(),
            body: Zeroizing::new(b"{\"plaintext\":\"QQ==\"}".to_vec()),
        };
        let mut out = Vec::new();
        encode_request(&mut out, &req, b"Host: kms:8200\r\n");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "POST /v1/keys/cards/encrypt HTTP/1.1\r\nHost: kms:8200\r\n\
             Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"plaintext\":\"QQ==\"}"
        );
    }
}
