//! Long double sums for INCRBYFLOAT/HINCRBYFLOAT: computed and printed by the
//! platform's C library exactly as Redis does (`ld.c`), so replies match byte for byte.
use std::ffi::{c_char, c_int, CString};

extern "C" {
    fn ferrodis_ld_add(a: *const c_char, b: *const c_char, out: *mut c_char, outlen: c_int) -> c_int;
}

/// Why a sum has no result.
#[derive(Debug, PartialEq, Eq)]
pub enum LdError {
    /// An operand is not a valid float.
    NotFloat,
    /// The sum is NaN or infinite.
    NotFinite,
}

/// `a + b` in long double, as Redis's human format (`%.17Lf`, zeros trimmed).
/// Operands must already have passed `num::parse_long_double`'s acceptance rules.
pub fn add(a: &[u8], b: &[u8]) -> Result<Vec<u8>, LdError> {
    let a = CString::new(a).map_err(|_| LdError::NotFloat)?;
    let b = CString::new(b).map_err(|_| LdError::NotFloat)?;
    // Redis compat: util.h MAX_LONG_DOUBLE_CHARS.
    let mut out = vec![0u8; 5 * 1024];
    // Safety: a and b are NUL-terminated; out has out.len() writable bytes and the
    // C side never writes more than outlen bytes including the NUL.
    let n = unsafe {
        ferrodis_ld_add(
            a.as_ptr(),
            b.as_ptr(),
            out.as_mut_ptr() as *mut c_char,
            out.len() as c_int,
        )
    };
    match n {
        -2 | 0 => Err(LdError::NotFinite),
        n if n < 0 => Err(LdError::NotFloat),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_print_like_redis() {
        assert_eq!(add(b"10.5", b"0.1").unwrap(), b"10.6");
        assert_eq!(add(b"1.1", b"2.2").unwrap(), b"3.3");
        assert_eq!(add(b"0", b"5.0e3").unwrap(), b"5000");
        assert_eq!(add(b"0.024390243902439025", b"-0.024390243902439025").unwrap(), b"0");
        assert_eq!(add(b"1e400", b"1").unwrap().len(), 401);
        assert_eq!(add(b"inf", b"1"), Err(LdError::NotFinite));
        assert_eq!(add(b"abc", b"1"), Err(LdError::NotFloat));
    }
}
