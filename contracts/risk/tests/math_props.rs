//! Property tests of the math kernels: monotonicity, symmetry, ranges, round trips and
//! agreement with f64 (std / libm) within stated tolerances.
use keel_risk::{exp, ln, norm_cdf, norm_pdf, sqrt, Rounding, WAD};
use proptest::prelude::*;

proptest! {
    #[test]
    fn ln_is_monotone(a in 1i128..i128::MAX, b in 1i128..i128::MAX) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(ln(lo).unwrap() <= ln(hi).unwrap());
    }

    #[test]
    fn exp_is_monotone(a in -44 * WAD..46 * WAD, b in -44 * WAD..46 * WAD) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(exp(lo).unwrap() <= exp(hi).unwrap());
    }

    #[test]
    fn sqrt_is_monotone_and_brackets(a in 0i128..i128::MAX, b in 0i128..i128::MAX) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(sqrt(lo, Rounding::Down).unwrap() <= sqrt(hi, Rounding::Down).unwrap());
        let d = sqrt(a, Rounding::Down).unwrap();
        let u = sqrt(a, Rounding::Up).unwrap();
        prop_assert!(u - d <= 1 && u >= d);
    }

    #[test]
    fn norm_cdf_is_monotone_symmetric_and_bounded(a in any::<i128>(), b in any::<i128>()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (cl, ch) = (norm_cdf(lo).unwrap(), norm_cdf(hi).unwrap());
        prop_assert!(cl <= ch);
        prop_assert!((0..=WAD).contains(&cl) && (0..=WAD).contains(&ch));
        if a != i128::MIN {
            prop_assert_eq!(norm_cdf(a).unwrap() + norm_cdf(-a).unwrap(), WAD);
            prop_assert_eq!(norm_pdf(a).unwrap(), norm_pdf(-a).unwrap());
        }
        let p = norm_pdf(a).unwrap();
        prop_assert!((0..=398_942_280_401_432_678).contains(&p));
    }

    #[test]
    fn ln_agrees_with_f64(x in 1_000i128..i128::MAX) {
        let got = ln(x).unwrap() as f64 / 1e18;
        let want = (x as f64 / 1e18).ln();
        // f64: x rounded to 53 bits (1.1e-16 relative => 1.1e-16 absolute in ln) + 1 ulp of ln.
        prop_assert!((got - want).abs() <= 3e-16 * (1.0 + want.abs()), "{got} vs {want}");
    }

    #[test]
    fn exp_agrees_with_f64(x in -43 * WAD..46 * WAD) {
        let got = exp(x).unwrap() as f64 / 1e18;
        let xf = x as f64 / 1e18;
        let want = xf.exp();
        // f64: x's representation error (1.1e-16 * |x|) is amplified to relative |x| * 1.1e-16.
        let tol = 1e-18 + want * (3e-16 + 2.3e-16 * xf.abs());
        prop_assert!((got - want).abs() <= tol, "{got} vs {want}");
    }

    #[test]
    fn norm_cdf_and_pdf_agree_with_libm(x in -12 * WAD..12 * WAD) {
        let xf = x as f64 / 1e18;
        let cdf = norm_cdf(x).unwrap() as f64 / 1e18;
        let want = 0.5 * libm::erfc(-xf / std::f64::consts::SQRT_2);
        // libm erfc: a few ulp relative, plus x's f64 rounding amplified through
        // exp(-x^2/2) (relative ~ x^2 * 2.2e-16) in the tail.
        let tol = 1e-18 + want * 1e-15 * (1.0 + xf * xf);
        prop_assert!((cdf - want).abs() <= tol, "cdf {cdf} vs {want}");
        let pdf = norm_pdf(x).unwrap() as f64 / 1e18;
        let want = (-0.5 * xf * xf).exp() / (2.0 * std::f64::consts::PI).sqrt();
        prop_assert!((pdf - want).abs() <= 1e-18 + 1e-15 * want * (1.0 + xf * xf), "pdf {pdf} vs {want}");
    }

    #[test]
    fn exp_ln_round_trip(x in WAD / 1_000_000..1_000_000 * WAD) {
        let y = exp(ln(x).unwrap()).unwrap();
        // ln error <= 1 wei -> relative 1e-18 after exp, plus exp's 3e-19 relative + 1 wei
        let tol = 2 + x / 700_000_000_000_000_000;
        prop_assert!((y - x).abs() <= tol, "exp(ln({x})) = {y}");
    }
}

proptest! {
    /// Arbitrary inputs (debug build: overflow checks on) never panic.
    #[test]
    fn arbitrary_inputs_never_panic(x in any::<i128>(), y in any::<i128>(), d in any::<i128>()) {
        let _ = (ln(x), exp(x), norm_cdf(x), norm_pdf(x));
        let _ = (sqrt(x, Rounding::Down), sqrt(x, Rounding::Up));
        let _ = keel_risk::mul_div(x, y, d, Rounding::Up);
        let _ = keel_risk::wmul(x, y, Rounding::Down);
        let _ = keel_risk::wdiv(x, y, Rounding::Up);
        let _ = keel_risk::div(x, y, Rounding::Down);
    }
}
