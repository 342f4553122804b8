//! The report every sanitising run produces: verdict, digests of what came in and went out, and
//! one entry per decision, each with a machine-readable code and a Japanese reason.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Outcome of a sanitising run, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing had to be removed; the output carries the same content.
    Clean,
    /// The output was rebuilt without the dangerous parts.
    Sanitized,
    /// Nothing may be delivered.
    Blocked,
}

impl Verdict {
    /// The Japanese word shown to users.
    pub fn label_ja(self) -> &'static str {
        match self {
            Verdict::Clean => "問題なし",
            Verdict::Sanitized => "無害化済み",
            Verdict::Blocked => "遮断",
        }
    }
}

/// What was done about one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// A part or construct was taken out.
    Removed,
    /// Content was rewritten so it can no longer act (links disabled, CSV formulas quoted).
    Neutralized,
    /// Content was converted to another form (HTML to text, charset to UTF-8).
    Converted,
    /// The file was decoded and written anew (images, PDFs, OOXML packages).
    Rebuilt,
    /// The whole input or part was refused.
    Blocked,
    /// Something suspicious was noted; the content itself is unchanged.
    Flagged,
    /// A construct the policy allows was kept as it is.
    Kept,
}

/// One decision: what, on which target, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What was done.
    pub action: ActionKind,
    /// Where: a part path, an archive entry name, a PDF object, a header name.
    pub target: String,
    /// Machine-readable code, e.g. `pdf.javascript`, `mail.link.mismatch`.
    pub code: String,
    /// Why, in Japanese, for the person reading the report.
    pub reason: String,
}

/// Hash, size and detected type of a byte string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// Detected type (a short name such as `pdf`, `docx`, `message/rfc822`).
    #[serde(rename = "type")]
    pub kind: String,
}

impl Digest {
    /// Computes the digest of `bytes` labelled with `kind`.
    pub fn of(bytes: &[u8], kind: &str) -> Self {
        Digest {
            sha256: sha256_hex(bytes),
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            kind: kind.to_owned(),
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The JSON report of the CLI contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Overall verdict.
    pub verdict: Verdict,
    /// What came in.
    pub input: Digest,
    /// What goes out; absent when blocked.
    pub output: Option<Digest>,
    /// Every decision, in the order it was taken.
    pub actions: Vec<Action>,
}

impl Report {
    /// Serialises the report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The first blocking reason, for one-line messages.
    pub fn block_reason(&self) -> Option<&Action> {
        self.actions
            .iter()
            .find(|a| a.action == ActionKind::Blocked)
    }
}

/// Result of sanitising one input: the report and, unless blocked, the bytes to deliver.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// The bytes to deliver; `None` exactly when the verdict is `blocked`.
    pub output: Option<Vec<u8>>,
}

impl Outcome {
    /// A blocked outcome for `input` with one reason.
    pub fn blocked(input: &[u8], kind: &str, target: &str, code: &str, reason: String) -> Self {
        Outcome {
            report: Report {
                verdict: Verdict::Blocked,
                input: Digest::of(input, kind),
                output: None,
                actions: vec![Action {
                    action: ActionKind::Blocked,
                    target: target.to_owned(),
                    code: code.to_owned(),
                    reason,
                }],
            },
            output: None,
        }
    }
}

/// Collects actions while a file or message is processed and derives the verdict from them.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    actions: Vec<Action>,
    changed: bool,
    blocked: bool,
}

impl Findings {
    /// Records an action; `Removed`, `Neutralized`, `Converted`, `Rebuilt` mark the output as
    /// changed, `Blocked` blocks.
    pub fn push(
        &mut self,
        action: ActionKind,
        target: &str,
        code: &str,
        reason: impl Into<String>,
    ) {
        match action {
            ActionKind::Removed
            | ActionKind::Neutralized
            | ActionKind::Converted
            | ActionKind::Rebuilt => self.changed = true,
            ActionKind::Blocked => self.blocked = true,
            ActionKind::Flagged | ActionKind::Kept => {}
        }
        self.actions.push(Action {
            action,
            target: target.to_owned(),
            code: code.to_owned(),
            reason: reason.into(),
        });
    }

    /// Records a block.
    pub fn block(&mut self, target: &str, code: &str, reason: impl Into<String>) {
        self.push(ActionKind::Blocked, target, code, reason);
    }

    /// True once anything blocked.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// Takes in the actions of a nested run (archive entry, attachment) under `prefix`.
    pub fn absorb(&mut self, prefix: &str, nested: &[Action]) {
        for a in nested {
            let target = if a.target.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}/{}", a.target)
            };
            // A nested block is reported as such but does not block the container: the
            // container decides (it usually drops the nested part and counts as sanitised).
            let action = a.action;
            if matches!(
                action,
                ActionKind::Removed
                    | ActionKind::Neutralized
                    | ActionKind::Converted
                    | ActionKind::Rebuilt
            ) {
                self.changed = true;
            }
            self.actions.push(Action {
                action,
                target,
                code: a.code.clone(),
                reason: a.reason.clone(),
            });
        }
    }

    /// Marks the output as changed without a separate action (e.g. a rebuilt container).
    pub fn mark_changed(&mut self) {
        self.changed = true;
    }

    /// The verdict these findings lead to.
    pub fn verdict(&self) -> Verdict {
        if self.blocked {
            Verdict::Blocked
        } else if self.changed {
            Verdict::Sanitized
        } else {
            Verdict::Clean
        }
    }

    /// Builds the outcome: blocked findings never carry output, whatever the caller passes.
    pub fn finish(
        self,
        input: &[u8],
        in_kind: &str,
        output: Option<Vec<u8>>,
        out_kind: &str,
    ) -> Outcome {
        let verdict = self.verdict();
        let output = if verdict == Verdict::Blocked {
            None
        } else {
            output
        };
        match output {
            Some(bytes) => Outcome {
                report: Report {
                    verdict,
                    input: Digest::of(input, in_kind),
                    output: Some(Digest::of(&bytes, out_kind)),
                    actions: self.actions,
                },
                output: Some(bytes),
            },
            None => {
                let mut actions = self.actions;
                if verdict != Verdict::Blocked {
                    // No output but nothing blocked: fail closed rather than deliver nothing
                    // silently labelled as clean.
                    actions.push(Action {
                        action: ActionKind::Blocked,
                        target: String::new(),
                        code: "internal.no-output".to_owned(),
                        reason: "出力を生成できなかったため遮断しました。".to_owned(),
                    });
                }
                Outcome {
                    report: Report {
                        verdict: Verdict::Blocked,
                        input: Digest::of(input, in_kind),
                        output: None,
                        actions,
                    },
                    output: None,
                }
            }
        }
    }

    /// The actions so far.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }
}
