//! Number parsing exactly as FeatBit's server does it: .NET `double.TryParse` with
//! `NumberStyles.Float | NumberStyles.AllowThousands` under the invariant culture (featbit-protocol.md §5.3).
//!
//! Accepted: leading/trailing ASCII white space (`\t`..`\r`, space), one leading sign, digits with `,` group
//! separators (only after the first digit and before the decimal point), one `.`, an exponent, trailing `\0`s, and
//! the symbols `Infinity`, `-Infinity`, `+Infinity`, `NaN` (ASCII case-insensitive, surrounded by any Unicode white
//! space). Overflow gives ±infinity, as in .NET Core 3.0+. NaN is reported as "not a number" because every
//! comparison operator treats it as a non-match.

/// Longest mantissa+exponent handled without allocating; longer inputs fall back to a heap buffer.
const STACK_DIGITS: usize = 64;

/// Parses `s` like .NET `double.TryParse(s, Float | AllowThousands, Invariant)`; `None` if it fails or is NaN.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    match parse_grammar(s.as_bytes()) {
        Some(v) => Some(v),
        None => parse_symbol(s),
    }
    .filter(|v| !v.is_nan())
}

/// .NET's white space for number styles: `IsWhite(ch) = ch == 0x20 || (ch >= 0x09 && ch <= 0x0D)`.
fn is_white(b: u8) -> bool {
    b == b' ' || (0x09..=0x0d).contains(&b)
}

/// The numeric grammar; the accepted characters are copied (without group separators) into a buffer that Rust's
/// correctly rounding parser reads, so the value is bit-identical to .NET's (also correctly rounding since 3.0).
fn parse_grammar(b: &[u8]) -> Option<f64> {
    let mut buf = Buf::default();
    let mut i = b.iter().take_while(|c| is_white(**c)).count();
    if let Some(&sign @ (b'+' | b'-')) = b.get(i) {
        buf.push(sign);
        i += 1;
    }
    let (mut digits, mut point) = (false, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits = true;
                buf.push(c);
            }
            b',' if digits && !point => {}
            b'.' if !point => {
                point = true;
                buf.push(c);
            }
            _ => break,
        }
        i += 1;
    }
    if !digits {
        return None;
    }
    i = exponent(b, i, &mut buf);
    i += b[i..].iter().take_while(|c| is_white(**c)).count();
    // .NET tolerates trailing NUL characters after the number.
    if !b[i..].iter().all(|c| *c == 0) {
        return None;
    }
    buf.parse()
}

/// Consumes `e[+-]digits` at `i` if complete; an incomplete exponent is left unconsumed (and then fails the parse
/// as trailing garbage), as in .NET.
fn exponent(b: &[u8], i: usize, buf: &mut Buf) -> usize {
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return i;
    }
    let mut j = i + 1;
    let sign = match b.get(j) {
        Some(&s @ (b'+' | b'-')) => {
            j += 1;
            Some(s)
        }
        _ => None,
    };
    let n = b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return i;
    }
    buf.push(b'e');
    if let Some(s) = sign {
        buf.push(s);
    }
    b[j..j + n].iter().for_each(|c| buf.push(*c));
    j + n
}

/// The fallback of .NET's `TryParseFloat` when the grammar fails: infinity and NaN symbols.
fn parse_symbol(s: &str) -> Option<f64> {
    let t = s.trim();
    let is = |sym: &str| t.eq_ignore_ascii_case(sym);
    if is("Infinity") || is("+Infinity") {
        Some(f64::INFINITY)
    } else if is("-Infinity") {
        Some(f64::NEG_INFINITY)
    } else if is("NaN") || is("+NaN") || is("-NaN") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// An ASCII buffer that stays on the stack for ordinary numbers.
struct Buf {
    stack: [u8; STACK_DIGITS],
    len: usize,
    heap: Vec<u8>,
}

impl Default for Buf {
    fn default() -> Self {
        Self { stack: [0; STACK_DIGITS], len: 0, heap: Vec::new() }
    }
}

impl Buf {
    fn push(&mut self, c: u8) {
        if self.len < STACK_DIGITS {
            self.stack[self.len] = c;
            self.len += 1;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.stack);
            }
            self.heap.push(c);
        }
    }

    fn parse(&self) -> Option<f64> {
        let bytes = if self.heap.is_empty() { &self.stack[..self.len] } else { &self.heap[..] };
        std::str::from_utf8(bytes).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn accepts_what_dotnet_accepts() {
        let cases: &[(&str, f64)] = &[
            ("42", 42.0),
            (" 42 ", 42.0),
            ("\t-1.5\r\n", -1.5),
            ("+3", 3.0),
            ("1,000", 1000.0),
            ("1,,000.5", 1000.5),
            ("1,", 1.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("-1.5e+2", -150.0),
            ("1e400", f64::INFINITY),
            ("infinity", f64::INFINITY),
            (" -Infinity ", f64::NEG_INFINITY),
            ("+INFINITY", f64::INFINITY),
            ("007", 7.0),
            ("1\0\0", 1.0),
        ];
        for (s, want) in cases {
            assert_eq!(parse_number(s), Some(*want), "{s:?}");
        }
    }

    #[test]
    fn rejects_what_dotnet_rejects_and_nan() {
        for s in
            ["", " ", "abc", ",1", "1.2.3", "1e", "1e+", "- 1", "1 000", "0x10", "1.0,0", "NaN", "-nan", "1-", "(1)"]
        {
            assert_eq!(parse_number(s), None, "{s:?}");
        }
    }

    #[test]
    fn long_inputs_parse_without_truncation() {
        let long = format!("{}1", "0".repeat(200));
        assert_eq!(parse_number(&long), Some(1.0));
    }
}
