//! Barong API-key authentication: the three headers of a private call, the signature, and the
//! error codes a failure answers with, checked in the order Barong's `Authorize#api_key_owner`
//! checks them (openware/barong `lib/barong/authorize.rb`): headers present and not blank
//! (422), the key known, the nonce a positive integer as Ruby's `String#to_i` reads it, within
//! the window of the server's clock, then the signature (all 401).

/// `X-Auth-Apikey`
pub const HEADER_KEY: &str = "x-auth-apikey";
/// `X-Auth-Nonce`: unix milliseconds.
pub const HEADER_NONCE: &str = "x-auth-nonce";
/// `X-Auth-Signature`: lowercase hex of HMAC-SHA256(secret, nonce + key).
pub const HEADER_SIGNATURE: &str = "x-auth-signature";

/// How far a nonce may be from the server's clock, ms.
pub const NONCE_WINDOW_MS: i64 = 5_000;

/// Why a private call was refused: 401 with the code, or 422 for missing headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    MissingHeaders,
    UnknownKey,
    /// The nonce does not read as a positive integer.
    NonceInvalid,
    NonceExpired,
    BadSignature,
}

impl AuthError {
    pub fn code(self) -> &'static str {
        match self {
            AuthError::MissingHeaders => "authz.invalid_api_key_headers",
            AuthError::UnknownKey => "authz.unexistent_apikey",
            AuthError::NonceInvalid => "authz.nonce_not_valid_timestamp",
            AuthError::NonceExpired => "authz.nonce_expired",
            AuthError::BadSignature => "authz.invalid_signature",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            AuthError::MissingHeaders => 422,
            _ => 401,
        }
    }
}

/// The signature of `nonce + key` under `secret`, as lowercase hex.
pub fn sign(secret: &str, nonce: &str, key: &str) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&k);
    ctx.update(nonce.as_bytes());
    ctx.update(key.as_bytes());
    let tag = ctx.sign();
    let mut out = String::with_capacity(64);
    for b in tag.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks one call's headers against a key's secret (`secret_of` answers `None` for an
/// unknown key) and the server's wall clock in ms. The signature is compared in constant time.
pub fn verify<'s>(
    key: Option<&str>,
    nonce: Option<&str>,
    signature: Option<&str>,
    now_ms: i64,
    secret_of: impl FnOnce(&str) -> Option<&'s str>,
) -> Result<(), AuthError> {
    let (Some(key), Some(nonce), Some(signature)) = (key, nonce, signature) else {
        return Err(AuthError::MissingHeaders);
    };
    let blank = |s: &str| s.chars().all(char::is_whitespace);
    if blank(key) || blank(nonce) || blank(signature) {
        return Err(AuthError::MissingHeaders);
    }
    let secret = secret_of(key).ok_or(AuthError::UnknownKey)?;
    let n = nonce_value(nonce);
    if n <= 0 {
        return Err(AuthError::NonceInvalid);
    }
    if now_ms.saturating_sub(n).saturating_abs() > NONCE_WINDOW_MS {
        return Err(AuthError::NonceExpired);
    }
    let Some(tag) = parse_hex(signature) else {
        return Err(AuthError::BadSignature);
    };
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = Vec::with_capacity(nonce.len() + key.len());
    msg.extend_from_slice(nonce.as_bytes());
    msg.extend_from_slice(key.as_bytes());
    ring::hmac::verify(&k, &msg, &tag).map_err(|_| AuthError::BadSignature)
}

/// A nonce as Ruby's `String#to_i` reads it: leading whitespace, a sign, then the digits up to
/// the first other character (`_` allowed between digits); 0 when there are none. Past the
/// i64 range it saturates (Ruby's big integer is as far outside any window).
pub fn nonce_value(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    let mut prev_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
                prev_digit = true;
            }
            b'_' if prev_digit => prev_digit = false,
            _ => break,
        }
    }
    if neg {
        -v
    } else {
        v
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = "13e611ce9c44f18aced4905a9cfb9133fddb1f85d02e1d3764a6aaf1803a22b0";

    #[test]
    fn the_published_test_vector() {
        assert_eq!(sign("testSecretKey", "1234567899", "testApiKey"), VECTOR);
    }

    #[test]
    fn each_failure_has_its_code() {
        let secret = |k: &str| (k == "testApiKey").then_some("testSecretKey");
        let now = 1_234_567_899;
        let ok = verify(
            Some("testApiKey"),
            Some("1234567899"),
            Some(VECTOR),
            now,
            secret,
        );
        assert_eq!(ok, Ok(()));
        let upper = VECTOR.to_uppercase();
        assert_eq!(
            verify(
                Some("testApiKey"),
                Some("1234567899"),
                Some(&upper),
                now,
                secret
            ),
            Ok(())
        );
        let cases = [
            (None, Some("1"), Some(VECTOR), AuthError::MissingHeaders),
            (
                Some("testApiKey"),
                Some("x"),
                Some(VECTOR),
                AuthError::NonceInvalid,
            ),
            (
                Some("testApiKey"),
                Some("-1234567899"),
                Some(VECTOR),
                AuthError::NonceInvalid,
            ),
            (
                Some("testApiKey"),
                Some(" "),
                Some(VECTOR),
                AuthError::MissingHeaders,
            ),
            (
                Some("nobody"),
                Some("x"),
                Some(VECTOR),
                AuthError::UnknownKey,
            ),
            (
                Some("nobody"),
                Some("1234567899"),
                Some(VECTOR),
                AuthError::UnknownKey,
            ),
            (
                Some("testApiKey"),
                Some("1234561000"),
                Some(VECTOR),
                AuthError::NonceExpired,
            ),
            (
                Some("testApiKey"),
                Some("1234567898"),
                Some(VECTOR),
                AuthError::BadSignature,
            ),
            (
                Some("testApiKey"),
                Some("1234567899"),
                Some("zz"),
                AuthError::BadSignature,
            ),
        ];
        for (k, n, s, want) in cases {
            assert_eq!(verify(k, n, s, now, secret), Err(want), "{k:?} {n:?} {s:?}");
        }
        // The value is Ruby's to_i, the signature is over the header as sent.
        let sig = sign("testSecretKey", "1234567899abc", "testApiKey");
        let ok = verify(
            Some("testApiKey"),
            Some("1234567899abc"),
            Some(&sig),
            now,
            secret,
        );
        assert_eq!(ok, Ok(()));
        assert_eq!(AuthError::MissingHeaders.status(), 422);
        assert_eq!(AuthError::NonceInvalid.status(), 401);
        assert_eq!(AuthError::NonceExpired.code(), "authz.nonce_expired");
    }

    #[test]
    fn nonces_read_as_ruby_to_i() {
        for (s, v) in [
            ("1723161255000", 1_723_161_255_000),
            ("  42", 42),
            ("+7", 7),
            ("-7", -7),
            ("12ab", 12),
            ("1_000", 1000),
            ("1__0", 1),
            ("_1", 0),
            ("abc", 0),
            ("", 0),
            ("99999999999999999999999", i64::MAX),
        ] {
            assert_eq!(nonce_value(s), v, "{s:?}");
        }
    }
}
