//! A plugin's stdout and stderr: the last few KiB of each are kept for the
//! run record (a Python traceback or a Rust panic message is how a plugin
//! author learns what went wrong), and nothing more. Writes never block and
//! never fail, so a chatty plugin is neither slowed nor trapped.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much of each stream is kept.
pub const TAIL_BYTES: usize = 8 * 1024;

#[derive(Debug, Default)]
struct Buffer {
    tail: VecDeque<u8>,
    /// Every byte written, kept or not.
    total: u64,
}

/// One captured stream. Clones share the buffer.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    buffer: Arc<Mutex<Buffer>>,
}

impl Tail {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, bytes: &[u8]) {
        let mut b = self.lock();
        b.total += bytes.len() as u64;
        let keep = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let overflow = (b.tail.len() + keep.len()).saturating_sub(TAIL_BYTES);
        b.tail.drain(..overflow);
        b.tail.extend(keep);
    }

    /// What was kept, as text (invalid UTF-8 replaced), with a note of what
    /// was dropped in front; `None` when nothing was written.
    pub fn text(&self) -> Option<String> {
        let b = self.lock();
        if b.total == 0 {
            return None;
        }
        let (front, back) = b.tail.as_slices();
        let kept = [front, back].concat();
        // A cut may fall inside a character: start at the next boundary.
        let start = if (b.total as usize) > kept.len() { kept.iter().position(|c| (*c as i8) >= -0x40).unwrap_or(0) } else { 0 };
        let text = String::from_utf8_lossy(&kept[start..]).into_owned();
        let dropped = b.total - kept.len() as u64 + start as u64;
        Some(if dropped > 0 { format!("[{dropped} earlier bytes dropped]\n{text}") } else { text })
    }
}

impl IsTerminal for Tail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Tail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for Tail {
    async fn ready(&mut self) {}
}

impl OutputStream for Tail {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for Tail {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A run's two streams.
#[derive(Debug, Clone, Default)]
pub struct Console {
    pub stdout: Tail,
    pub stderr: Tail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_written_is_none() {
        assert_eq!(Tail::default().text(), None);
    }

    #[test]
    fn only_the_last_bytes_are_kept_and_the_rest_is_counted() {
        let t = Tail::default();
        t.push(&vec![b'a'; TAIL_BYTES]);
        t.push(b"the end\n");
        let text = t.text().unwrap();
        assert!(text.starts_with("[8 earlier bytes dropped]\n"), "{}", &text[..40]);
        assert!(text.ends_with("the end\n"));
        assert_eq!(text.len(), "[8 earlier bytes dropped]\n".len() + TAIL_BYTES);
    }

    #[test]
    fn one_huge_write_keeps_its_end() {
        let t = Tail::default();
        let mut big = vec![b'x'; 10 * TAIL_BYTES];
        big.extend_from_slice(b"panicked at src/lib.rs:1:1");
        t.push(&big);
        assert!(t.text().unwrap().ends_with("panicked at src/lib.rs:1:1"));
    }

    #[test]
    fn a_cut_inside_a_character_starts_at_the_next_one() {
        let t = Tail::default();
        // 3-byte characters: the window of the last TAIL_BYTES starts inside one.
        t.push("€".repeat(TAIL_BYTES).as_bytes());
        let text = t.text().unwrap();
        assert!(!text.contains('\u{FFFD}'), "{}", &text[..60]);
    }
}
