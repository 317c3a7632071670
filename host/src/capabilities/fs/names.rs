//! Entry names as the policy sees them: WIT strings are UTF-8, file names are any bytes but
//! `/` and NUL. A name is passed as is when it is UTF-8 without a backslash; otherwise a
//! backslash is written `\\` and each byte that is not UTF-8 `\xNN` (two lowercase hex
//! digits). The form is reversible and canonical: the host accepts back exactly the form it
//! gave, so no spelling of `..`, `/` or NUL can be smuggled through an escape.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};

/// The policy's form of a file name.
pub fn encode(name: &OsStr) -> Cow<'_, str> {
    let bytes = name.as_bytes();
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.contains('\\')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(&chunk.valid().replace('\\', "\\\\"));
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    Cow::Owned(out)
}

/// The file name a policy's name component stands for; `Err` when it is not a form
/// [`encode`] gives.
pub fn decode(component: &str) -> Result<Cow<'_, OsStr>, String> {
    if !component.contains('\\') {
        return Ok(Cow::Borrowed(OsStr::new(component)));
    }
    let mut bytes = Vec::with_capacity(component.len());
    let mut rest = component.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            bytes.push(first);
            rest = tail;
            continue;
        }
        match tail {
            [b'\\', after @ ..] => {
                bytes.push(b'\\');
                rest = after;
            }
            [b'x', high, low, after @ ..] => {
                let hex = [*high, *low];
                let byte = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("malformed escape in `{component}`"))?;
                bytes.push(byte);
                rest = after;
            }
            _ => return Err(format!("malformed escape in `{component}`")),
        }
    }
    let name = OsString::from_vec(bytes);
    if encode(&name) != component {
        return Err(format!(
            "`{component}` is not the host's form of a file name"
        ));
    }
    Ok(Cow::Owned(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_unchanged() {
        assert!(matches!(
            encode(OsStr::new("a.mp4")),
            Cow::Borrowed("a.mp4")
        ));
        assert_eq!(decode("a.mp4").expect("plain"), OsStr::new("a.mp4"));
        assert_eq!(encode(OsStr::new("line\nbreak")), "line\nbreak");
    }

    #[test]
    fn any_bytes_round_trip() {
        for raw in [
            &b"caf\xe9.wav"[..],
            b"\xff\xfe",
            b"back\\slash",
            b"\\x41",
            b"mixed\\\xc3(",
        ] {
            let name = OsStr::from_bytes(raw);
            let encoded = encode(name);
            assert!(!encoded.contains('/'));
            assert_eq!(decode(&encoded).expect("round trip"), name, "{encoded}");
        }
        assert_eq!(encode(OsStr::from_bytes(b"caf\xe9")), "caf\\xe9");
        assert_eq!(encode(OsStr::from_bytes(b"a\\b")), "a\\\\b");
    }

    #[test]
    fn only_the_canonical_form_is_accepted() {
        for bad in [
            "\\x2e\\x2e", // `..`
            "\\x2f",      // `/`
            "\\x00",      // NUL
            "\\x41",      // `A`, which is written plainly
            "\\xFF",      // uppercase hex
            "\\",
            "\\q",
            "\\x4",
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
