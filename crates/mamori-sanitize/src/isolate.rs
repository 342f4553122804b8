//! Process isolation: each file is parsed and rebuilt in a child process with an address-space
//! and CPU limit and a wall-clock timeout, so a stack overflow, an allocation abort or a hang costs
//! that one file — reported as `blocked` with the reason — never the caller. Fail closed: any
//! error talking to the child, any non-zero exit, any malformed or inconsistent answer blocks.
//!
//! The child is any program that calls [`run_worker`] (the `mamori` binary does so for its hidden
//! `sanitize worker` subcommand). The wire format on stdin/stdout is length-prefixed:
//! request `MMR1 | policy JSON | name | data`, response `MMA1 | report JSON | output`.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::report::{Outcome, Verdict, sha256_hex};
use crate::{FileSanitizer, Policy, Report};

const REQUEST_MAGIC: &[u8; 4] = b"MMR1";
const RESPONSE_MAGIC: &[u8; 4] = b"MMA1";

/// Runs the file engine in a child process per file.
#[derive(Debug, Clone)]
pub struct ChildProcess {
    /// Program to start (usually the `mamori` binary itself).
    pub program: PathBuf,
    /// Arguments that make it call [`run_worker`].
    pub args: Vec<OsString>,
}

impl ChildProcess {
    /// A child running `program args…`.
    pub fn new(program: PathBuf, args: Vec<OsString>) -> Self {
        ChildProcess { program, args }
    }
}

fn put(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&u64::try_from(bytes.len()).unwrap_or(u64::MAX).to_le_bytes());
    buf.extend_from_slice(bytes);
}

fn take<'a>(buf: &mut &'a [u8], max: u64) -> Option<&'a [u8]> {
    let len_bytes: [u8; 8] = buf.get(..8)?.try_into().ok()?;
    let len = u64::from_le_bytes(len_bytes);
    if len > max {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    let data = buf.get(8..8 + len)?;
    *buf = buf.get(8 + len..)?;
    Some(data)
}

fn blocked(input: &[u8], code: &str, reason: String) -> Outcome {
    Outcome::blocked(input, "unknown", "", code, reason)
}

impl FileSanitizer for ChildProcess {
    fn sanitize(&self, input: &[u8], name: Option<&str>, policy: &Policy) -> Outcome {
        let Ok(policy_json) = serde_json::to_vec(policy) else {
            return blocked(
                input,
                "isolate.request",
                "子プロセスへの依頼を作れませんでした。".to_owned(),
            );
        };
        let mut request = Vec::with_capacity(input.len() + policy_json.len() + 64);
        request.extend_from_slice(REQUEST_MAGIC);
        put(&mut request, &policy_json);
        put(&mut request, name.unwrap_or_default().as_bytes());
        put(&mut request, input);

        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return blocked(
                    input,
                    "isolate.spawn",
                    format!("子プロセスを起動できないため遮断しました ({e})。"),
                );
            }
        };
        let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return blocked(
                input,
                "isolate.spawn",
                "子プロセスと通信できないため遮断しました。".to_owned(),
            );
        };
        // Writing and reading run on their own threads so a child that stops reading or writing
        // cannot block us past the deadline.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&request);
        });
        let max_answer = policy
            .limits
            .file_bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024 * 1024);
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = (&mut stdout).take(max_answer).read_to_end(&mut out);
            out
        });
        let deadline =
            Instant::now() + Duration::from_secs(u64::from(policy.limits.attachment_seconds));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => break None,
            }
        };
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = writer.join();
            let _ = reader.join();
            return blocked(
                input,
                "limit.timeout",
                format!(
                    "処理が制限時間 ({} 秒) を超えたため遮断しました。",
                    policy.limits.attachment_seconds
                ),
            );
        };
        let _ = writer.join();
        let answer = reader.join().unwrap_or_default();
        if !status.success() {
            return blocked(
                input,
                "isolate.crashed",
                format!(
                    "解析処理が異常終了したため遮断しました ({status}; メモリ・CPU 上限超過またはクラッシュ)。"
                ),
            );
        }
        parse_answer(input, &answer, policy).unwrap_or_else(|| {
            blocked(
                input,
                "isolate.answer",
                "子プロセスの応答が不正なため遮断しました。".to_owned(),
            )
        })
    }
}

fn parse_answer(input: &[u8], answer: &[u8], policy: &Policy) -> Option<Outcome> {
    let mut rest = answer.strip_prefix(RESPONSE_MAGIC.as_slice())?;
    let report_json = take(&mut rest, 64 * 1024 * 1024)?;
    let output = take(
        &mut rest,
        policy
            .limits
            .file_bytes
            .saturating_mul(2)
            .saturating_add(1024 * 1024),
    )?;
    let report: Report = serde_json::from_slice(report_json).ok()?;
    // The child's report must describe this input and the bytes it sent back.
    if report.input.sha256 != sha256_hex(input) {
        return None;
    }
    match (&report.output, report.verdict) {
        (None, Verdict::Blocked) => Some(Outcome {
            report,
            output: None,
        }),
        (Some(d), Verdict::Clean | Verdict::Sanitized) if d.sha256 == sha256_hex(output) => {
            let output = Some(output.to_vec());
            Some(Outcome { report, output })
        }
        _ => None,
    }
}

/// Error of the worker side.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Reading the request or writing the answer failed.
    #[error("worker I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The request was not in the expected format.
    #[error("worker request malformed")]
    Request,
}

/// The child side: applies the limits to this process, reads one request from stdin, sanitises
/// in-process and writes the answer to stdout.
pub fn run_worker() -> Result<(), WorkerError> {
    let mut request = Vec::new();
    std::io::stdin().lock().read_to_end(&mut request)?;
    let mut rest = request
        .strip_prefix(REQUEST_MAGIC.as_slice())
        .ok_or(WorkerError::Request)?;
    let policy_json = take(&mut rest, 16 * 1024 * 1024).ok_or(WorkerError::Request)?;
    let policy: Policy = serde_json::from_slice(policy_json).map_err(|_| WorkerError::Request)?;
    apply_limits(&policy);
    let name = take(&mut rest, 64 * 1024).ok_or(WorkerError::Request)?;
    let data = take(&mut rest, u64::MAX).ok_or(WorkerError::Request)?;
    let name = String::from_utf8_lossy(name).into_owned();
    let name = (!name.is_empty()).then_some(name);
    let outcome = crate::sanitize_file(data, name.as_deref(), &policy);
    let report = serde_json::to_vec(&outcome.report).map_err(|_| WorkerError::Request)?;
    let mut answer =
        Vec::with_capacity(report.len() + outcome.output.as_ref().map_or(0, Vec::len) + 32);
    answer.extend_from_slice(RESPONSE_MAGIC);
    put(&mut answer, &report);
    put(&mut answer, outcome.output.as_deref().unwrap_or_default());
    let mut out = std::io::stdout().lock();
    out.write_all(&answer)?;
    out.flush()?;
    Ok(())
}

/// Limits the worker's address space and CPU time. The request is already in memory, so the
/// limit bounds what parsing may add on top of it.
fn apply_limits(policy: &Policy) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let mem = u64::from(policy.limits.attachment_memory_mib).saturating_mul(1024 * 1024);
    let cpu = u64::from(policy.limits.attachment_seconds).saturating_add(1);
    // Failure to lower a limit leaves the parent's wall-clock timeout as the guard; it is not a
    // reason to refuse work.
    let _ = setrlimit(
        Resource::As,
        Rlimit {
            current: Some(mem),
            maximum: Some(mem),
        },
    );
    let _ = setrlimit(
        Resource::Cpu,
        Rlimit {
            current: Some(cpu),
            maximum: Some(cpu),
        },
    );
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
}
