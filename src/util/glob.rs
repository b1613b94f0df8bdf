//! Glob matching with exactly Redis 7.0's `stringmatchlen` semantics (KEYS, SCAN MATCH,
//! PSUBSCRIBE, CONFIG GET, ACL key/channel patterns), quirks included.
//! Invariants: no recursion (hostile patterns cannot exhaust the stack), no panics, and
//! O(len(pattern) * len(string)) time in the worst case.

/// Does `s` match glob `pattern`? `*` any run, `?` any byte, `[...]` a set (`^` negates,
/// `a-z` ranges, `\x` escapes), `\x` a literal byte elsewhere; `nocase` folds ASCII case.
///
/// Redis quirks kept on purpose (callers must know the first one):
/// - An empty `s` never matches, not even `*`; Redis's KEYS and SCAN special-case the
///   pattern `*` before calling the matcher, so callers wanting that must do the same.
/// - Ranges compare bytes as signed chars (x86-64 `char`), so `[\x01-\xff]` is the range
///   -1..=1 after swapping the reversed ends; ends are swapped before ASCII lowercasing.
/// - An escaped byte inside brackets is compared case-sensitively even with `nocase`.
/// - An unterminated `[set` matches one byte of the set and ends the pattern there; `[^`
///   at the very end matches any byte; a range may swallow the `]` (`[a-]` is the range
///   `]`..=`a` and the set continues).
///
/// Redis recurses at each `*` and, through its "skip longer matches" flag, gives up as soon
/// as the rest after the innermost `*` fails at every position; earlier stars are then
/// never retried. So the search needs just one backtrack point (the latest `*`), which is
/// what this loop keeps instead of recursing.
///
/// A match that has to go past more than 1000 stars (runs of `*` not ending the pattern,
/// reached with some of the string left) fails, as Redis's recursion depth limit makes
/// it fail (a guard against abusive patterns, in every Redis release since October 2024,
/// 7.0.15 as distributions ship it included). Without recursion this loop needs no
/// such guard; it keeps the limit for the answers' sake.
// Redis compat: util.c stringmatchlen / stringmatchlen_impl (`nesting > 1000`).
#[must_use]
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut p = 0usize;
    let mut si = 0usize;
    // (pattern index just after the latest '*', string index its current try starts at,
    // how many stars the match has gone past with it)
    let mut star: Option<(usize, usize, usize)> = None;
    let mut depth = 0usize;
    loop {
        match attempt(pattern, s, &mut p, &mut si, nocase) {
            Step::Match => return true,
            Step::Star => {
                depth += 1;
                if depth > MAX_STARS {
                    return false;
                }
                star = Some((p, si, depth));
            }
            Step::Fail => {
                let Some((resume, start, d)) = star else {
                    return false;
                };
                depth = d;
                // Let the star swallow one more byte; once it has tried every position
                // the whole match fails (Redis's skipLongerMatches).
                let next = start + 1;
                if next >= s.len() {
                    return false;
                }
                star = Some((resume, next, d));
                p = resume;
                si = next;
            }
        }
    }
}

/// Stars a match may go past. Redis compat: util.c stringmatchlen_impl `nesting > 1000`.
const MAX_STARS: usize = 1000;

enum Step {
    /// The whole pattern matched the whole string.
    Match,
    /// A non-final `*` was reached: `p` is just after it, `si` where it stands.
    Star,
    /// This try failed; backtrack to the latest star if there is one.
    Fail,
}

/// Matches pattern elements from `p` against the string from `si` until the outcome is
/// known or a `*` needs a backtrack point.
fn attempt(pat: &[u8], s: &[u8], p: &mut usize, si: &mut usize, nocase: bool) -> Step {
    while let (Some(&pc), Some(&sc)) = (pat.get(*p), s.get(*si)) {
        match pc {
            b'*' => {
                // Collapse a run of stars; a star ending the pattern matches the rest.
                while at(pat, *p + 1) == b'*' {
                    *p += 1;
                }
                *p += 1;
                return if *p == pat.len() { Step::Match } else { Step::Star };
            }
            b'?' => {}
            b'[' => {
                if !bracket(pat, p, sc, nocase) {
                    return Step::Fail;
                }
            }
            _ => {
                // A backslash escapes the next byte, unless it is the pattern's last byte,
                // in which case it is matched literally.
                if pc == b'\\' && pat.len() - *p >= 2 {
                    *p += 1;
                }
                if !same(at(pat, *p), sc, nocase) {
                    return Step::Fail;
                }
            }
        }
        *si += 1;
        *p += 1;
        if *si == s.len() {
            // String used up: only trailing stars may remain.
            while at(pat, *p) == b'*' {
                *p += 1;
            }
            break;
        }
    }
    if *p == pat.len() && *si == s.len() {
        Step::Match
    } else {
        Step::Fail
    }
}

/// Matches `sc` against the set starting at the `[` at `*p`. On return `*p` is at the
/// closing `]`, or at the pattern's last byte when the set is unterminated.
// Redis compat: util.c stringmatchlen_impl, case '['.
fn bracket(pat: &[u8], p: &mut usize, sc: u8, nocase: bool) -> bool {
    *p += 1;
    let negate = at(pat, *p) == b'^';
    if negate {
        *p += 1;
    }
    let mut matched = false;
    loop {
        let rem = pat.len().saturating_sub(*p);
        let pc = at(pat, *p);
        if pc == b'\\' && rem >= 2 {
            *p += 1;
            // Redis compat: escaped bytes in a set ignore `nocase`.
            if at(pat, *p) == sc {
                matched = true;
            }
        } else if pc == b']' {
            break;
        } else if rem == 0 {
            // Unterminated: step back so the caller's advance ends the pattern.
            *p -= 1;
            break;
        } else if rem >= 3 && at(pat, *p + 1) == b'-' {
            let (mut lo, mut hi) = (signed(pc), signed(at(pat, *p + 2)));
            if lo > hi {
                core::mem::swap(&mut lo, &mut hi);
            }
            let mut c = signed(sc);
            if nocase {
                lo = lower(lo);
                hi = lower(hi);
                c = lower(c);
            }
            *p += 2;
            if (lo..=hi).contains(&c) {
                matched = true;
            }
        } else if same(pc, sc, nocase) {
            matched = true;
        }
        *p += 1;
    }
    matched != negate
}

/// Pattern byte at `i`, or 0 past the end: Redis reads the pattern's NUL terminator there,
/// and 0 is none of the metacharacters looked for.
fn at(pat: &[u8], i: usize) -> u8 {
    pat.get(i).copied().unwrap_or(0)
}

fn same(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// The byte as the C `char` (signed on x86-64) Redis compares ranges with.
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

/// ASCII-only tolower on a signed char value (C locale; negative values are unchanged).
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    fn mi(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            // Literals, '?', '*'.
            ("hello", "hello", true),
            ("hello", "hellO", false),
            ("hello", "hell", false),
            ("hell", "hello", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "hllo", true),
            ("h*llo", "heeeello", true),
            ("*", "x", true),
            ("**", "xyz", true),
            ("*", "", false), // Redis quirk: empty strings never match
            ("", "", true),
            ("", "a", false),
            ("a*", "a", true),
            ("a**", "a", true),
            ("*a", "a", true),
            ("*a", "ba", true),
            ("*a", "ab", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbYcZ", false),
            ("a*b*c", "abcbc", true),
            ("*.txt", "a.b.txt", true),
            ("?", "", false),
            // Sets.
            ("h[ae]llo", "hello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h[b-a]llo", "hallo", true), // reversed range
            ("[a-]", "-", false),         // ']' swallowed as range end: set unterminated
            ("[a-]", "^", true),          // ']'(93)..'a'(97) contains '^'(94)
            ("[a-]x]", "^", true),        // ...then 'x', then the real ']'
            ("[a-]x]", "x", true),
            ("[]]", "]", false), // "[]" is an empty set, then a literal ']'
            ("[]]", "]]", false),
            ("[\\]]", "]", true),
            ("[\\\\]", "\\", true),
            ("[\\a-c]", "-", true), // escaped 'a', then '-' and 'c' literally
            ("[\\a-c]", "b", false),
            ("[a-c", "b", true), // unterminated: one byte of the set, then end
            ("[a-c", "bx", false),
            ("[abc", "c", true),
            ("[", "[", false),
            ("[", "", false),
            ("[^", "x", true), // unterminated negated empty set: any byte
            ("[^", "xy", false),
            ("a[", "a", false),
            // Escapes.
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("\\?", "?", true),
            ("\\", "\\", true), // a trailing backslash is literal
            ("a\\", "a\\", true),
            ("\\[a]", "[a]", true),
            ("\\a", "a", true),
        ];
        for (p, s, want) in cases {
            assert_eq!(m(p, s), *want, "glob_match({p:?}, {s:?})");
        }
    }

    #[test]
    fn nocase() {
        assert!(mi("HeLLo", "hello"));
        assert!(!m("HeLLo", "hello"));
        assert!(mi("h[A-Z]llo", "hello"));
        assert!(mi("h[E]llo", "hello"));
        assert!(mi("h\\Ello", "hello")); // escapes outside sets do fold
        assert!(!mi("h[\\E]llo", "hello")); // Redis compat: escapes inside sets do not
        assert!(m("[A-z]", "_"));
        assert!(!mi("[A-z]", "_")); // ends lowercased to a..z
        assert!(mi("*A*", "xax"));
    }

    #[test]
    fn signed_char_ranges() {
        // 0x01..0xff as signed chars is 1..-1, swapped to -1..1.
        let pat = b"[\x01-\xff]";
        assert!(glob_match(pat, b"\xff", false));
        assert!(glob_match(pat, b"\x00", false));
        assert!(glob_match(pat, b"\x01", false));
        assert!(!glob_match(pat, b"a", false));
        assert!(!glob_match(pat, b"\x80", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(!glob_match(b"[\x80-\xff]", b"a", false));
        assert!(glob_match(b"\xe9*", b"\xe9t\xe9", true));
    }

    #[test]
    fn binary_safe() {
        assert!(glob_match(b"a\0*", b"a\0b", false));
        assert!(!glob_match(b"a\0", b"a", false));
        assert!(glob_match(b"[\0]", b"\0", false));
    }

    // Ported from tests/unit/keyspace.tcl ("KEYS with pattern", "KEYS to get all keys",
    // "KEYS * two times with long key", "Regression for pattern matching long nested loops").
    #[test]
    fn keyspace_tcl() {
        let keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"];
        let foo: Vec<_> = keys.iter().filter(|k| m("foo*", k)).collect();
        assert_eq!(foo, [&"foo_a", &"foo_b", &"foo_c"]);
        assert!(keys.iter().all(|k| m("*", k)));
        assert!(m("*", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"));
        let a40 = "a".repeat(40);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &a40));
    }

    #[test]
    fn hostile_inputs_are_fast_and_bounded() {
        let stars = vec![b'*'; 100_000];
        assert!(glob_match(&stars, b"abc", false));
        let mut alt = b"*a".repeat(50_000);
        alt.push(b'b');
        let long_a = vec![b'a'; 100_000];
        assert!(!glob_match(&alt, &long_a, false));
        let p = b"*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(p, &long_a, false));
        let mut with_b = long_a.clone();
        with_b.push(b'b');
        assert!(glob_match(p, &with_b, false));
        let brackets = b"[".repeat(100_000);
        assert!(!glob_match(&brackets, &long_a, false));
        let escapes = b"\\".repeat(100_001);
        assert!(!glob_match(&escapes, b"\\", false));
    }

    // As tests/unit/keyspace.tcl "Regression for pattern matching very long nested loops"
    // (Redis 7.2.6 and later, and 7.0.15 as shipped with the security fix).
    #[test]
    fn a_match_goes_past_at_most_1000_stars() {
        let pat = |n: usize| b"*?".repeat(n);
        assert!(glob_match(&pat(1000), &[b'a'; 1000], false));
        assert!(!glob_match(&pat(1001), &[b'a'; 1001], false));
        assert!(!glob_match(&pat(50_000), &[b'a'; 50_000], false));
        // Runs of stars count once, and stars ending the pattern or reached with the
        // string used up do not count.
        let mut runs = b"**?".repeat(1000);
        runs.extend_from_slice(b"***");
        assert!(glob_match(&runs, &[b'a'; 1000], false));
        assert!(glob_match(&runs, &[b'a'; 1500], false));
        let mut past_end = b"?".repeat(3);
        past_end.extend(b"*".repeat(5000));
        assert!(glob_match(&past_end, b"abc", false));
        // Trying the latest star at later positions does not count it again.
        let mut retry = b"*b".repeat(999);
        retry.extend_from_slice(b"*c");
        let mut s = b"ab".repeat(999);
        s.extend_from_slice(b"xxc");
        assert!(glob_match(&retry, &s, false));
    }

    /// Deterministic xorshift64* so the fuzz loop needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    // Like Redis's stringmatchlen_fuzz_test: random short patterns and strings must never
    // panic. Bytes are biased toward metacharacters to exercise the odd paths.
    #[test]
    fn fuzz_never_panics() {
        let alphabet = b"*?[]^-\\ab";
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut total = 0u32;
        for i in 0..300_000u32 {
            let random_bytes = |rng: &mut Rng| -> Vec<u8> {
                let len = (rng.next() % 32) as usize;
                (0..len)
                    .map(|_| {
                        let r = rng.next();
                        if i % 2 == 0 {
                            alphabet[(r % alphabet.len() as u64) as usize]
                        } else {
                            (r % 256) as u8
                        }
                    })
                    .collect()
            };
            let pat = random_bytes(&mut rng);
            let s = random_bytes(&mut rng);
            total += u32::from(glob_match(&pat, &s, i % 3 == 0));
        }
        assert!(total > 0);
    }
}
