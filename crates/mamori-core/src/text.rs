//! Normalisation of what people type: full-width letters and digits, stray spaces.

use unicode_normalization::UnicodeNormalization;

/// Folds a user-typed key for comparison: NFKC (full-width → half-width), lower case, and no
/// white space (ASCII or 全角スペース).
pub fn fold(s: &str) -> String {
    s.nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// NFKC-normalises a value and trims it, keeping inner spaces (names, titles).
pub fn normalize(s: &str) -> String {
    s.nfkc().collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_makes_full_width_equal_to_half_width() {
        assert_eq!(fold("ＡＢＣ　１２３"), "abc123");
        assert_eq!(fold("機密性３"), "機密性3");
    }

    #[test]
    fn normalize_keeps_inner_spaces() {
        assert_eq!(normalize("　山田　太郎 "), "山田 太郎");
    }
}
