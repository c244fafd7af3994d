//! PHP's float-to-text conversion as used by `json_encode` with
//! `serialize_precision = -1`.
//!
//! PHP asks its `dtoa` for the shortest digit string that round-trips
//! ("mode 0") and lays the digits out `%.17G`-style: exponential notation when
//! the decimal exponent is below -4 or above 16 (`1.0e+17`, `3.0e-5`),
//! otherwise plain notation without a trailing `.0` (`100`, `0.0001`).
//!
//! The shortest round-trip digits are taken from Rust's `{:e}` formatting,
//! which prints those digits and the decimal exponent. Rust and PHP differ
//! only when two shortest candidates are exactly equally close to the value
//! (Rust rounds up, PHP to even); [`php_tie_break`] detects and fixes that.
//! Two exact fast paths skip the formatter: integral values below 2^53, and
//! values whose shortest form has at most 6 fractional digits
//! ([`short_decimal_digits`]).
#![forbid(unsafe_code)]

use std::fmt::{self, Write as _};

/// 2^53: every integer below it is exactly representable.
const EXACT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// A fixed-size, allocation-free `fmt::Write` sink.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf { buf: [0; 40], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let end = self.len + bytes.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// Appends PHP's `serialize_precision = -1` text for `f` to `out`.
///
/// `f` should be finite (`json_encode` rejects INF/NAN before formatting);
/// non-finite input is written as PHP's `INF`, `-INF` or `NAN`.
pub(crate) fn format_php_float(f: f64, out: &mut Vec<u8>) {
    if !f.is_finite() {
        if f.is_nan() {
            out.extend_from_slice(b"NAN");
        } else if f < 0.0 {
            out.extend_from_slice(b"-INF");
        } else {
            out.extend_from_slice(b"INF");
        }
        return;
    }
    let magnitude = f.abs();
    if magnitude < EXACT_INT_LIMIT && magnitude.fract() == 0.0 {
        // Fast path: an integral value below 2^53 prints as its integer
        // text (its shortest digits padded with zeros; always below the
        // exponential threshold of 1e17). `-0.0` prints as `-0`.
        if f.is_sign_negative() {
            out.push(b'-');
        }
        // Exact: the value is an integer below 2^53.
        super::encode::write_i64(out, magnitude as i64);
        return;
    }
    let digits = match short_decimal_digits(magnitude) {
        Some(d) => d,
        None => {
            let mut d = shortest_digits(magnitude);
            if let Some(fixed) = php_tie_break(magnitude, d.len) {
                d = fixed;
            }
            d
        }
    };
    if f.is_sign_negative() {
        out.push(b'-');
    }
    lay_out(&digits, out);
}

/// Decimal digits `d1..dn` (no trailing zeros unless the value is zero) and
/// the decimal point position: value = 0.d1..dn × 10^decpt.
struct Digits {
    buf: [u8; 24],
    len: usize,
    decpt: i32,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len.clamp(1, self.buf.len())]
    }
}

/// Fast path for positive, non-integral `f` with at most 6 fractional
/// digits in its shortest form (prices, percentages, `12.5`, `0.1`, ...).
///
/// For k = 1..=6 the k-fractional-digit decimals that read back as `f` are
/// tried around `round(f × 10^k)`; reading back is exact here because
/// `c / 10^k` with integers `c < 2^53` and `10^k` is one correctly rounded
/// IEEE division, the same result as parsing `c`e-k. The first k with a
/// hit gives the shortest digits; the hit must be the only one among the
/// neighbours (then it is also the closest). Anything else returns `None`
/// and takes the general path.
fn short_decimal_digits(f: f64) -> Option<Digits> {
    const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    // 2^-49
    const TOLERANCE: f64 = 1.0 / 562_949_953_421_312.0;
    for (k, &p) in POW10.iter().enumerate().skip(1) {
        let scaled = f * p;
        if scaled.is_nan() || scaled >= EXACT_INT_LIMIT {
            return None;
        }
        let c = scaled.round();
        // Cheap rejection without divisions: a decimal c' reads back as `f`
        // only if |c' - f*10^k| <= ulp(f)*10^k, and with the rounding of
        // `scaled` that bounds |c' - scaled| below scaled*2^-51. With
        // `tol` four times that and below 0.25, neither `c` (further than
        // `tol`) nor its neighbours (at least 0.5 away) can read back.
        let tol = scaled * TOLERANCE;
        if tol < 0.25 && (scaled - c).abs() > tol {
            continue;
        }
        let reads_back = |c: f64| (0.0..EXACT_INT_LIMIT).contains(&c) && c / p == f;
        let below = reads_back(c - 1.0);
        let above = reads_back(c + 1.0);
        if !reads_back(c) {
            if below || above {
                return None;
            }
            continue;
        }
        if below || above {
            return None;
        }
        // `c` is an exact integer in [0, 2^53).
        let mut v = c as u64;
        let mut scale = i32::try_from(k).ok()?;
        while v != 0 && v % 10 < 1 {
            v /= 10;
            scale -= 1;
        }
        let mut d = Digits {
            buf: [b'0'; 24],
            len: 0,
            decpt: 0,
        };
        let len = decimal_len(u128::from(v));
        let mut rest = v;
        for i in (0..len).rev() {
            *d.buf.get_mut(i)? = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        d.len = len;
        d.decpt = i32::try_from(len).ok()? - scale;
        return Some(d);
    }
    None
}

/// The shortest round-trip digits of a non-negative finite `f`, read from
/// Rust's `{:e}` output (`D[.DDD]e[-]X`).
fn shortest_digits(f: f64) -> Digits {
    let mut sci = StackBuf::new();
    if write!(sci, "{f:e}").is_ok() {
        parse_sci(sci.as_bytes())
    } else {
        // Unreachable in practice: the longest `{:e}` output of an f64 is
        // 23 bytes. Fall back to a heap buffer rather than panic.
        parse_sci(format!("{f:e}").as_bytes())
    }
}

fn parse_sci(sci: &[u8]) -> Digits {
    let mut d = Digits {
        buf: [b'0'; 24],
        len: 0,
        decpt: 1,
    };
    let mut pos = 0usize;
    while let Some(&c) = sci.get(pos) {
        pos += 1;
        if c == b'e' {
            break;
        }
        if c.is_ascii_digit() {
            if let Some(slot) = d.buf.get_mut(d.len) {
                *slot = c;
                d.len += 1;
            }
        }
    }
    if d.len == 0 {
        d.len = 1; // defensive: treat as "0"
    }
    let mut exp_negative = false;
    if sci.get(pos) == Some(&b'-') {
        exp_negative = true;
        pos += 1;
    }
    let mut exp: i32 = 0;
    for &c in sci.get(pos..).unwrap_or(&[]) {
        if c.is_ascii_digit() {
            exp = exp.saturating_mul(10).saturating_add(i32::from(c - b'0'));
        }
    }
    if exp_negative {
        exp = -exp;
    }
    d.decpt = exp + 1;
    d
}

/// Rust and PHP agree on the shortest round-trip digit count and pick the
/// candidate closest to the exact binary value, but differ on exact ties:
/// when the value lies exactly halfway between two shortest candidates
/// (e.g. 2^-25 = 2.98023223876953125e-8 with 17 digits), Rust rounds the last
/// digit up while PHP's `zend_dtoa` rounds half to even
/// (`2.9802322387695312e-8`). This detects such ties and returns PHP's
/// digits when they differ from Rust's choice.
///
/// A tie at `n` digits means the exact value has exactly `n + 1` significant
/// digits, the last being 5. That only happens for values whose exact
/// decimal expansion is short, which is checked with integer arithmetic.
fn php_tie_break(f: f64, n: usize) -> Option<Digits> {
    let (s, q) = short_exact_decimal(f)?;
    if s % 10 != 5 || decimal_len(s) != n + 1 {
        return None;
    }
    // Candidates: lower and lower + 1 (in units of 10^(q+1)); PHP takes the
    // even one.
    let lower = s / 10;
    let chosen = if lower % 2 == 0 { lower } else { lower + 1 };
    let mut d = Digits {
        buf: [b'0'; 24],
        len: 0,
        decpt: 0,
    };
    let total = decimal_len(chosen);
    let mut v = chosen;
    for i in (0..total).rev() {
        *d.buf.get_mut(i)? = b'0' + (v % 10) as u8;
        v /= 10;
    }
    d.len = total;
    while d.len > 1 && d.buf.get(d.len - 1) == Some(&b'0') {
        d.len -= 1;
    }
    d.decpt = i32::try_from(total).ok()? + q + 1;
    // Only use the candidate if it really reads back as `f`.
    let mut text = StackBuf::new();
    text.write_str("0.").ok()?;
    for &c in d.as_slice() {
        text.write_char(char::from(c)).ok()?;
    }
    write!(text, "e{}", d.decpt).ok()?;
    let back: f64 = std::str::from_utf8(text.as_bytes()).ok()?.parse().ok()?;
    (back.to_bits() == f.to_bits()).then_some(d)
}

/// The exact value of positive finite `f` as `s × 10^q` with `s` not a
/// multiple of 10, when `s` could be a tie (ends in 5) of at most 18 digits;
/// `None` when it cannot be.
fn short_exact_decimal(f: f64) -> Option<(u128, i32)> {
    let bits = f.to_bits();
    let fraction = bits & ((1u64 << 52) - 1);
    let biased = i32::try_from((bits >> 52) & 0x7ff).ok()?;
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    if m == 0 {
        return None;
    }
    let tz = m.trailing_zeros();
    m >>= tz;
    e += i32::try_from(tz).ok()?;
    // Now f = m × 2^e with m odd.
    let (s, q) = if e >= 0 {
        // The significant digits end in 5 only if every factor 2 is paired
        // with a factor 5 of m; m < 2^53 has at most 22 factors 5.
        if e > 22 {
            return None;
        }
        let mut n = u128::from(m) << e;
        let mut q = 0;
        // n > 0: m is odd.
        while n % 10 < 1 {
            n /= 10;
            q += 1;
        }
        (n, q)
    } else {
        // f = m × 5^k / 10^k; m × 5^k ends in 5 and is at least 5^k, which
        // has more than 18 digits when k > 25.
        let k = e.unsigned_abs();
        if k > 25 {
            return None;
        }
        (u128::from(m) * 5u128.pow(k), e)
    };
    (s < 1_000_000_000_000_000_000).then_some((s, q))
}

fn decimal_len(mut v: u128) -> usize {
    let mut len = 1;
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    len
}

/// Lays out `d` the way PHP's `zend_gcvt` does in mode 0 with 17 digits.
fn lay_out(d: &Digits, out: &mut Vec<u8>) {
    let digits = d.as_slice();
    let n = digits.len();
    let decpt = d.decpt;
    if !(-3..=17).contains(&decpt) {
        // Exponential: d1.d2..dn e±X (at least one fractional digit).
        out.push(digits[0]);
        out.push(b'.');
        if n == 1 {
            out.push(b'0');
        } else {
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        let e = decpt - 1;
        out.push(if e < 0 { b'-' } else { b'+' });
        push_u32(e.unsigned_abs(), out);
    } else if decpt <= 0 {
        // 0.000ddd
        out.extend_from_slice(b"0.");
        for _ in 0..decpt.unsigned_abs() {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let int_len = decpt.unsigned_abs() as usize;
        if n <= int_len {
            out.extend_from_slice(digits);
            for _ in n..int_len {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    }
}

fn push_u32(mut v: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: f64) -> String {
        let mut out = Vec::new();
        format_php_float(f, &mut out);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn php_examples() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (2.0, "2"),
            (100.0, "100"),
            (0.1, "0.1"),
            (0.5, "0.5"),
            (-0.5, "-0.5"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.001, "0.001"),
            (1e-5, "1.0e-5"),
            (3.0e-5, "3.0e-5"),
            (1.25e-5, "1.25e-5"),
            (123.456, "123.456"),
            (1.5, "1.5"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1.5e16, "15000000000000000"),
            (1.2345678901234567e16, "12345678901234568"),
            (1e17, "1.0e+17"),
            (1.5e17, "1.5e+17"),
            (1e20, "1.0e+20"),
            (1.5e20, "1.5e+20"),
            (1e22, "1.0e+22"),
            (123456789012345680000.0, "1.2345678901234568e+20"),
            (1.2345678901234567e19, "1.2345678901234567e+19"),
            (0.30000000000000004, "0.30000000000000004"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN, "-1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5.0e-324"),
            (-5e-324, "-5.0e-324"),
            (f64::EPSILON, "2.220446049250313e-16"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (9007199254740993.0, "9007199254740992"),
            (123456.789e3, "123456789"),
            (1e100, "1.0e+100"),
            (1.7e-300, "1.7e-300"),
            (std::f64::consts::PI, "3.141592653589793"),
            (-1234.5, "-1234.5"),
            (99999999999999990.0, "99999999999999980"),
        ];
        for &(f, want) in cases {
            assert_eq!(fmt(f), want, "formatting {f:e}");
        }
    }

    #[test]
    fn exact_ties_round_half_even_like_php() {
        // Outputs taken from PHP 8.2 json_encode. The exact binary values
        // sit halfway between two shortest candidates.
        let cases: &[(u64, &str)] = &[
            (0x3e60_0000_0000_0000, "2.9802322387695312e-8"), // 2^-25
            (0xbe60_0000_0000_0000, "-2.9802322387695312e-8"),
            (0x4310_0000_0000_0001, "1125899906842624.2"),  // ...624.25
            (0xc2e6_61f8_20d0_8374, "-196880244311067.62"), // ...067.625
            (0xc2ab_af16_e20b_b8a0, "-15219408569820.312"), // ...820.3125
            (0x4318_54f2_bbcc_cd45, "1712200237658961.2"),  // ...961.25
        ];
        for &(bits, want) in cases {
            assert_eq!(fmt(f64::from_bits(bits)), want, "{bits:016x}");
        }
        // Odd lower candidate: PHP rounds up (as Rust does).
        let base = 1_125_899_906_842_624.0; // 2^50: spacing 0.25
        assert_eq!(fmt(base + 0.75), "1125899906842624.8");
        assert_eq!(fmt(base + 1.25), "1125899906842625.2");
        assert_eq!(fmt(2f64.powi(-26)), "1.4901161193847656e-8");
        assert_eq!(fmt(3.0 * 2f64.powi(-24)), "1.7881393432617188e-7");
        assert_eq!(fmt(2f64.powi(-30)), "9.313225746154785e-10");
    }

    #[test]
    fn non_finite_is_written_like_php() {
        assert_eq!(fmt(f64::INFINITY), "INF");
        assert_eq!(fmt(f64::NEG_INFINITY), "-INF");
        assert_eq!(fmt(f64::NAN), "NAN");
    }

    #[test]
    fn output_round_trips() {
        // Deterministic sweep over bit patterns: the text must parse back to
        // the same value (PHP's notation is valid Rust float syntax).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = f64::from_bits(x);
            if !f.is_finite() {
                continue;
            }
            let s = fmt(f);
            let back: f64 = s.parse().expect("parses");
            assert_eq!(back.to_bits(), f.to_bits(), "{s}");
        }
    }
}
