//! Errors about the input: every one carries the file, line and column (or the element path when
//! the input came from the web app's JSON), so a network team can fix its file without guessing.

use std::fmt;

use serde::Serialize;

/// A position in an input file (1-based line and column; columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// File name as given by the caller.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `src` (clamped to the text, and to a char boundary).
    pub fn at(file: &str, src: &str, offset: usize) -> Location {
        let mut offset = offset.min(src.len());
        while offset > 0 && !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = src.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location {
            file: file.to_owned(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One thing wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The element path (`host[3].zone`), when known.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// What is wrong, in Japanese.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: ")?,
            None if !self.path.is_empty() => write!(f, "{}: ", self.path)?,
            None => {}
        }
        f.write_str(&self.message)
    }
}

/// Input that cannot be used: one or more diagnostics, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct InputError {
    /// What is wrong.
    pub diagnostics: Vec<Diagnostic>,
}

impl InputError {
    /// An error with one diagnostic.
    pub fn one(location: Option<Location>, path: &str, message: impl Into<String>) -> InputError {
        InputError {
            diagnostics: vec![Diagnostic {
                location,
                path: path.to_owned(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Largest input accepted by any parser of this crate (network files and firewall rulesets).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Refuses input above [`MAX_INPUT_BYTES`] before any parsing is attempted.
pub fn check_size(file: &str, len: usize) -> Result<(), InputError> {
    if len > MAX_INPUT_BYTES {
        return Err(InputError::one(
            Some(Location {
                file: file.to_owned(),
                line: 1,
                column: 1,
            }),
            "",
            format!("ファイルが大きすぎます（{len} バイト、上限 {MAX_INPUT_BYTES} バイト）"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn location_counts_characters_not_bytes() {
        let src = "a = 1\nname = \"事務局\" x";
        let off = src.find('x').unwrap();
        let loc = Location::at("f.toml", src, off);
        assert_eq!((loc.line, loc.column), (2, 14));
        // Inside a multi-byte character, and beyond the end, never panic.
        let _ = Location::at("f", src, src.find('務').unwrap() + 1);
        let _ = Location::at("f", src, 10_000);
    }
}
