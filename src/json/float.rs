//! PHP's float-to-text conversion as `json_encode` uses it (`serialize_precision = -1`).
//!
//! PHP writes the shortest digit string that reads back as the same double (on an exact tie
//! between two shortest candidates, the even one) and lays it out `%.17G`-style: exponential
//! notation when the decimal exponent is below -4 or above 16 (`1.0e+17`, `3.0e-5`: always a
//! fractional digit and a signed exponent), else plain notation without a trailing `.0` (`100`,
//! `0.0001`, `-0`).
//!
//! The digits come from [`ryu`], which finds the same shortest digits (it also breaks exact ties
//! to even); only the layout is ours.
#![forbid(unsafe_code)]

use std::io::{self, Write};

/// Writes PHP's text for `f`; non-finite values as PHP prints them (`INF`, `-INF`, `NAN`), which
/// `json_encode` refuses before formatting.
pub(crate) fn write_php_float<W: ?Sized + Write>(w: &mut W, f: f64) -> io::Result<()> {
    if !f.is_finite() {
        let text = if f.is_nan() {
            "NAN"
        } else if f < 0.0 {
            "-INF"
        } else {
            "INF"
        };
        return w.write_all(text.as_bytes());
    }
    if f.is_sign_negative() {
        w.write_all(b"-")?;
    }
    // ryu's layout depends on the magnitude ("1.5e-7", "0.001", "1e16", "123.0"): read the
    // significant digits and the decimal point out of it, as value = 0.DIGITS × 10^point.
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(f.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut point = i32::try_from(int.len()).unwrap_or(0) + exp.parse::<i32>().unwrap_or(0);
    let mut buf = [0u8; 32];
    let mut len = 0;
    for d in int.bytes().chain(frac.bytes()) {
        if len == 0 && d == b'0' {
            point -= 1;
        } else if let Some(slot) = buf.get_mut(len) {
            *slot = d;
            len += 1;
        }
    }
    let mut digits = &buf[..len];
    while let [rest @ .., b'0'] = digits {
        digits = rest;
    }
    match digits {
        [] => w.write_all(b"0"),
        [first, rest @ ..] if !(-3..=17).contains(&point) => {
            w.write_all(&[*first, b'.'])?;
            w.write_all(if rest.is_empty() { b"0" } else { rest })?;
            write!(w, "e{}{}", if point > 0 { '+' } else { '-' }, (point - 1).unsigned_abs())
        }
        _ if point <= 0 => {
            w.write_all(b"0.")?;
            zeros(w, point.unsigned_abs())?;
            w.write_all(digits)
        }
        _ => {
            let (int, frac) = digits.split_at(usize::try_from(point).unwrap_or(0).min(digits.len()));
            w.write_all(int)?;
            zeros(w, point.unsigned_abs().saturating_sub(u32::try_from(int.len()).unwrap_or(0)))?;
            if !frac.is_empty() {
                w.write_all(b".")?;
                w.write_all(frac)?;
            }
            Ok(())
        }
    }
}

fn zeros<W: ?Sized + Write>(w: &mut W, n: u32) -> io::Result<()> {
    (0..n).try_for_each(|_| w.write_all(b"0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: f64) -> String {
        let mut out = Vec::new();
        write_php_float(&mut out, f).expect("writes to a Vec");
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
