//! Redis's quoted representation of binary strings (sds.c sdscatrepr): always in
//! double quotes, with C escapes and `\xHH` for other non-printable bytes. The output
//! is plain ASCII.

/// Appends the quoted form of `s` to `out`.
pub fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\x");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
        }
    }
    out.push(b'"');
}

/// The quoted form of `s` as a String.
pub fn repr(s: &[u8]) -> String {
    let mut o = Vec::with_capacity(s.len() + 2);
    cat_repr(&mut o, s);
    String::from_utf8_lossy(&o).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(repr(b"a b"), "\"a b\"");
        assert_eq!(
            repr(b"\"\\\n\r\t\x07\x08\x00\xff"),
            "\"\\\"\\\\\\n\\r\\t\\a\\b\\x00\\xff\""
        );
    }
}
