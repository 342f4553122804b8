//! Secrets: Argon2id password hashing (off the async threads), TOTP (RFC 6238), random tokens
//! and recovery codes.

use argon2::{Algorithm, Argon2, Params, Version};
use argon2::{PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use totp_rs::{Builder, Secret, Totp};

use crate::AppError;

/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn argon2(memory_kib: u32) -> Result<Argon2<'static>, AppError> {
    let params = Params::new(memory_kib.max(8), 2, 1, None)
        .map_err(|e| AppError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with Argon2id on a blocking thread; returns a PHC string.
pub async fn hash(password: String, memory_kib: u32) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        argon2(memory_kib)?
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("join: {e}")))?
}

/// Checks a password against a stored PHC string on a blocking thread. A missing hash is
/// checked against a dummy so that timing does not reveal which accounts exist.
pub async fn verify(
    password: String,
    stored: Option<String>,
    memory_kib: u32,
) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let Some(stored) = stored else {
            let mut salt = [0u8; 16];
            rand::rng().fill_bytes(&mut salt);
            let _ = argon2(memory_kib)?.hash_password_with_salt(password.as_bytes(), &salt);
            return Ok(false);
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AppError::Internal(format!("join: {e}")))?
}

/// Why a new password is refused, in Japanese.
pub fn check_strength(password: &str, login: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!(
            "パスワードは{MIN_PASSWORD_CHARS}文字以上にしてください（現在{n}文字）"
        ));
    }
    if n > 256 {
        return Err("パスワードは256文字以内にしてください".to_owned());
    }
    if password.to_lowercase().contains(&login.to_lowercase()) {
        return Err("パスワードにログインIDを含めないでください".to_owned());
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err("同じ文字の繰り返しが多すぎます".to_owned());
    }
    Ok(())
}

/// `n` random bytes as URL-safe base64.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh TOTP secret, base32.
pub fn new_totp_secret() -> String {
    let mut buf = [0u8; 20];
    rand::rng().fill_bytes(&mut buf);
    Secret::from(buf).to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Result<Totp, AppError> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|e| AppError::Internal(format!("totp secret: {e}")))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some("mamori"))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| AppError::Internal(format!("totp: {e}")))
}

/// Checks a 6-digit code at `unix_time`, allowing one step of clock skew; returns the matched
/// time step so the caller can refuse its reuse.
pub fn check_totp(secret_b32: &str, code: &str, unix_time: u64) -> Result<Option<i64>, AppError> {
    let code: String = mamori_core::text::normalize(code)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let step = totp(secret_b32, "x")?.check(&code, unix_time);
    Ok(step.and_then(|s| i64::try_from(s).ok()))
}

/// The `otpauth://` URL an authenticator app reads from the QR code.
pub fn totp_url(secret_b32: &str, account: &str) -> Result<String, AppError> {
    totp(secret_b32, account)?
        .to_url()
        .map_err(|e| AppError::Internal(format!("totp url: {e}")))
}

/// The QR code of `data` as an inline SVG element (no external image, no script).
pub fn qr_svg(data: &str) -> Result<String, AppError> {
    let code =
        qrcode::QrCode::new(data.as_bytes()).map_err(|e| AppError::Internal(format!("qr: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // Drop the XML declaration so the SVG can sit inside HTML.
    Ok(svg
        .find("<svg")
        .and_then(|i| svg.get(i..))
        .unwrap_or(&svg)
        .to_owned())
}

/// Ten one-time recovery codes, `xxxx-xxxx-xxxx` of lower-case letters and digits.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let chars: String = (0..12)
                .map(|_| {
                    let i = (rng.next_u32() as usize) % ALPHABET.len();
                    ALPHABET.get(i).map(|&b| char::from(b)).unwrap_or('a')
                })
                .collect();
            format!(
                "{}-{}-{}",
                chars.get(0..4).unwrap_or(""),
                chars.get(4..8).unwrap_or(""),
                chars.get(8..12).unwrap_or("")
            )
        })
        .collect()
}

/// Normalises a typed recovery code (width, case, spaces) before hashing it.
pub fn normalize_recovery_code(code: &str) -> String {
    mamori_core::text::fold(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules_explain_themselves() {
        assert!(
            check_strength("short", "x")
                .unwrap_err()
                .contains("12文字以上")
        );
        assert!(
            check_strength("tanaka-2026-secret", "tanaka")
                .unwrap_err()
                .contains("ログインID")
        );
        assert!(check_strength("aaaaaaaaaaaaaaa", "x").is_err());
        assert!(check_strength("kyonan-river-2026", "tanaka").is_ok());
    }

    #[test]
    fn totp_accepts_the_current_code_once_per_step() {
        let secret = new_totp_secret();
        let t = totp(&secret, "a").unwrap();
        let now = 1_775_000_000;
        let code = t.generate(now).to_string();
        assert_eq!(
            check_totp(&secret, &code, now).unwrap(),
            Some(i64::try_from(now / 30).unwrap())
        );
        assert_eq!(check_totp(&secret, "000000x", now).unwrap(), None);
        let old = t.generate(now - 300).to_string();
        assert_eq!(check_totp(&secret, &old, now).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_shaped() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 14 && c.matches('-').count() == 2)
        );
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("otpauth://totp/mamori:x?secret=ABC").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(!svg.contains("<script"));
    }
}
