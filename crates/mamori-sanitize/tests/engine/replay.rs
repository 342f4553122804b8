//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) as ordinary tests: every stored input must
//! be handled without a panic and with a consistent outcome.

use std::path::PathBuf;

use mamori_sanitize::{InProcess, Policy, Verdict, sanitize_file, sanitize_mail};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn mail_corpus_replays() {
    let policy = Policy::default();
    for (path, data) in corpus("mail") {
        let o = sanitize_mail(&data, &policy, &InProcess);
        assert_eq!(
            o.output.is_none(),
            o.report.verdict == Verdict::Blocked,
            "{}",
            path.display()
        );
    }
}

#[test]
fn file_corpora_replay() {
    let policy = Policy::default();
    for target in ["file", "pdf", "ooxml", "zip", "image", "ole", "text"] {
        for (path, data) in corpus(target) {
            let o = sanitize_file(&data, None, &policy);
            assert_eq!(
                o.output.is_none(),
                o.report.verdict == Verdict::Blocked,
                "{}",
                path.display()
            );
        }
    }
}
