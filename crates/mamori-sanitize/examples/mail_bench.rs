//! Runs the mail engine over every file given (or every file in a directory) in this process, with
//! the default policy, and prints messages/s and MB/s. For profiling the engine alone, without
//! process start-up or file output: `valgrind --tool=callgrind target/release/examples/mail_bench DIR`.
//!
//! Usage: mail_bench [--repeat N] PATH...

use std::path::PathBuf;
use std::time::Instant;

use mamori_sanitize::{InProcess, Policy, sanitize_mail};

fn main() -> std::process::ExitCode {
    let mut repeat = 1u32;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--repeat" {
            repeat = args
                .next()
                .and_then(|n| n.to_str().and_then(|s| s.parse().ok()))
                .unwrap_or(1);
        } else {
            paths.push(PathBuf::from(a));
        }
    }
    let mut files = Vec::new();
    for p in paths {
        match std::fs::read_dir(&p) {
            Ok(dir) => {
                let mut names: Vec<PathBuf> =
                    dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
                names.sort();
                files.extend(names);
            }
            Err(_) => files.push(p),
        }
    }
    let mut inputs = Vec::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(b) => inputs.push(b),
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                return std::process::ExitCode::from(2);
            }
        }
    }
    let policy = Policy::default();
    let total: usize = inputs.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut out_bytes = 0usize;
    for _ in 0..repeat {
        for input in &inputs {
            let o = sanitize_mail(input, &policy, &InProcess);
            out_bytes += o.output.as_ref().map_or(0, Vec::len) + o.report.to_json().len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = inputs.len() as f64 * f64::from(repeat);
    let mb = total as f64 * f64::from(repeat) / 1e6;
    println!(
        "{} messages, {:.1} MB in {:.3} s: {:.1} msg/s, {:.1} MB/s ({} bytes out)",
        n,
        mb,
        secs,
        n / secs,
        mb / secs,
        out_bytes
    );
    std::process::ExitCode::SUCCESS
}
