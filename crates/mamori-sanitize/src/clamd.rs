//! Optional virus scan: each attachment is sent to clamd with its INSTREAM command over TCP; a
//! match blocks the attachment. The connection has timeouts so a stuck daemon cannot hang the
//! engine, and the caller decides (policy `scan.required`) whether an unreachable daemon blocks.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// What clamd said about the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanResult {
    /// No signature matched.
    Clean,
    /// A signature matched; its name.
    Found(String),
}

/// Why a scan could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Connecting, writing or reading failed.
    #[error("clamd に接続できません (scan.io): {0}")]
    Io(#[from] std::io::Error),
    /// The address did not resolve.
    #[error("clamd のアドレスが不正です (scan.address): {0}")]
    Address(String),
    /// clamd answered with an error (for example the stream size limit).
    #[error("clamd がエラーを返しました (scan.error): {0}")]
    Daemon(String),
}

/// Chunk size of the INSTREAM protocol; clamd's default stream limit is far above it.
const CHUNK: usize = 64 * 1024;

/// Scans `data` with the clamd listening at `addr` (`host:port`).
pub fn scan(addr: &str, data: &[u8]) -> Result<ScanResult, ScanError> {
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| ScanError::Address(format!("{addr}: {e}")))?
        .next()
        .ok_or_else(|| ScanError::Address(addr.to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    stream.write_all(b"zINSTREAM\0")?;
    for chunk in data.chunks(CHUNK) {
        let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
        stream.write_all(&len.to_be_bytes())?;
        stream.write_all(chunk)?;
    }
    stream.write_all(&0u32.to_be_bytes())?;
    stream.flush()?;
    let mut reply = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut reply)?;
    parse_reply(&String::from_utf8_lossy(&reply))
}

/// Reads `stream: OK`, `stream: Eicar-Signature FOUND` or `... ERROR`.
fn parse_reply(reply: &str) -> Result<ScanResult, ScanError> {
    let line = reply.trim_end_matches(['\0', '\n', '\r']).trim();
    let body = line.split_once(": ").map_or(line, |(_, b)| b);
    if body == "OK" {
        Ok(ScanResult::Clean)
    } else if let Some(sig) = body.strip_suffix(" FOUND") {
        Ok(ScanResult::Found(sig.trim().to_owned()))
    } else {
        Err(ScanError::Daemon(line.to_owned()))
    }
}

/// Asks clamd whether it is alive (`PING` → `PONG`).
pub fn ping(addr: &str) -> Result<(), ScanError> {
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| ScanError::Address(format!("{addr}: {e}")))?
        .next()
        .ok_or_else(|| ScanError::Address(addr.to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"zPING\0")?;
    let mut reply = Vec::new();
    stream.take(64).read_to_end(&mut reply)?;
    if String::from_utf8_lossy(&reply)
        .trim_end_matches('\0')
        .trim()
        == "PONG"
    {
        Ok(())
    } else {
        Err(ScanError::Daemon(
            String::from_utf8_lossy(&reply).into_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn parses_replies() {
        assert_eq!(parse_reply("stream: OK\0").unwrap(), ScanResult::Clean);
        assert_eq!(
            parse_reply("stream: Mamori.Test.EICAR FOUND\0").unwrap(),
            ScanResult::Found("Mamori.Test.EICAR".to_owned())
        );
        assert!(parse_reply("INSTREAM size limit exceeded. ERROR\0").is_err());
    }

    /// Runs against a real clamd when `MAMORI_TEST_CLAMD` names one (see scripts/start-clamd.sh).
    #[test]
    fn real_clamd_finds_eicar() {
        let Ok(addr) = std::env::var("MAMORI_TEST_CLAMD") else {
            eprintln!("MAMORI_TEST_CLAMD not set; skipping the live clamd test");
            return;
        };
        let eicar = concat!(
            "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
            "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
        );
        match scan(&addr, eicar.as_bytes()).unwrap() {
            ScanResult::Found(_) => {}
            ScanResult::Clean => panic!("EICAR not detected"),
        }
        assert_eq!(
            scan(&addr, "ただの文章".as_bytes()).unwrap(),
            ScanResult::Clean
        );
    }
}
