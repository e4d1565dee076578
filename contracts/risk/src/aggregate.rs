//! Cross-underlying aggregation of per-underlying charges through a correlation matrix.

use crate::error::{check_range, Field, RiskError};
use crate::fixed::{add, sub, wdiv, wmul, Rounding, Wad, WAD};
use crate::math::sqrt;

/// Validates an n x n row-major correlation matrix: `len == n * n`, unit
/// diagonal (exactly WAD), entries in [-WAD, WAD], symmetric.
pub fn validate_correlation(c: &[Wad], n: usize) -> Result<(), RiskError> {
    if c.len() != n * n {
        return Err(RiskError::CorrelationShape {
            len: c.len().min(u32::MAX as usize) as u32,
            expected: (n * n) as u32,
        });
    }
    for i in 0..n {
        for j in 0..n {
            let v = c[i * n + j];
            check_range(Field::Correlation, i * n + j, v, -WAD, WAD)?;
            if i == j && v != WAD {
                return Err(RiskError::CorrelationDiagonal {
                    index: i as u32,
                    value: v,
                });
            }
            if j > i && v != c[j * n + i] {
                return Err(RiskError::CorrelationNotSymmetric {
                    row: i as u32,
                    col: j as u32,
                });
            }
        }
    }
    Ok(())
}

/// Result of [`aggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregation {
    /// Sum of the charges (WAD).
    pub undiversified: Wad,
    /// Correlated combination before the credit cap (WAD, rounded up).
    pub correlated: Wad,
    /// Final charge: max(correlated, undiversified x (1 - max_credit)), rounded
    /// up and never above `undiversified` (WAD).
    pub charge: Wad,
}

/// Direction of an underlying's charge, from the sign of its worst scenario's
/// spot shock: -1 (loses when spot falls), +1 (loses when spot rises), 0 (no
/// spot direction, e.g. a pure vol or time loss).
pub fn direction(spot_shock: Wad) -> i8 {
    match spot_shock {
        s if s < 0 => -1,
        s if s > 0 => 1,
        _ => 0,
    }
}

/// Combines per-underlying charges `L_i >= 0` with directions `d_i` through the
/// correlation matrix `c` (n x n, validated by the caller):
///
/// correlated = sqrt(sum_ij d_i d_j c_ij L_i L_j) + sum of charges with d_i = 0
///
/// i.e. signed losses, so that a long in one underlying and a short in a
/// positively correlated one offset, while two longs do not. Directionless
/// charges get no credit. The credit `undiversified - charge` is capped at
/// `max_credit x undiversified`.
///
/// Numerics: the charges are normalised by their maximum M (x_i = L_i / M,
/// rounded up) so the quadratic form stays in WAD range for any charge size;
/// result = M x sqrt(q) rounded up. A quadratic form below 0 (possible only for
/// a matrix that is not positive semi-definite) is treated as 0, which the credit
/// cap then bounds. Error: a few wei x n^2 relative to M, then rounded up.
pub fn aggregate(
    charges: &[Wad],
    directions: &[i8],
    c: &[Wad],
    max_credit: Wad,
) -> Result<Aggregation, RiskError> {
    let n = charges.len();
    if c.len() != n * n || directions.len() != n {
        return Err(RiskError::CorrelationShape {
            len: c.len().min(u32::MAX as usize) as u32,
            expected: (n * n) as u32,
        });
    }
    let mut undiversified: Wad = 0;
    let mut flat: Wad = 0;
    let mut max: Wad = 0;
    for (i, l) in charges.iter().enumerate() {
        check_range(Field::Correlation, i, *l, 0, i128::MAX)?;
        undiversified = add(undiversified, *l)?;
        if directions[i] == 0 {
            flat = add(flat, *l)?;
        } else {
            max = max.max(*l);
        }
    }
    let mut correlated = flat;
    if max > 0 {
        let mut x = [0 as Wad; crate::portfolio::MAX_UNDERLYINGS];
        let mut signed = alloc::vec::Vec::new();
        let xs: &mut [Wad] = if n <= x.len() {
            &mut x[..n]
        } else {
            signed.resize(n, 0);
            &mut signed[..]
        };
        for i in 0..n {
            if directions[i] != 0 {
                let v = wdiv(charges[i], max, Rounding::Up)?;
                xs[i] = if directions[i] < 0 { -v } else { v };
            }
        }
        let mut q: Wad = 0;
        for i in 0..n {
            if xs[i] == 0 {
                continue;
            }
            for j in 0..n {
                if xs[j] == 0 || c[i * n + j] == 0 {
                    continue;
                }
                let t = wmul(
                    wmul(xs[i], xs[j], Rounding::Up)?,
                    c[i * n + j],
                    Rounding::Up,
                )?;
                q = add(q, t)?;
            }
        }
        let root = sqrt(q.max(0), Rounding::Up)?;
        correlated = add(correlated, wmul(max, root, Rounding::Up)?)?;
    }
    let floor = sub(
        undiversified,
        wmul(undiversified, max_credit, Rounding::Down)?,
    )?;
    let charge = correlated.max(floor).min(undiversified);
    Ok(Aggregation {
        undiversified,
        correlated,
        charge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn corr2(rho: Wad) -> alloc::vec::Vec<Wad> {
        vec![WAD, rho, rho, WAD]
    }

    #[test]
    fn validate_correlation_errors_on_bad_matrix() {
        assert_eq!(validate_correlation(&corr2(WAD / 2), 2), Ok(()));
        assert!(matches!(
            validate_correlation(&[WAD, 1, 2, WAD], 2),
            Err(RiskError::CorrelationNotSymmetric { row: 0, col: 1 })
        ));
        assert!(matches!(
            validate_correlation(&[WAD - 1, 0, 0, WAD], 2),
            Err(RiskError::CorrelationDiagonal { index: 0, .. })
        ));
        assert!(matches!(
            validate_correlation(&corr2(WAD + 1), 2),
            Err(RiskError::OutOfRange {
                field: Field::Correlation,
                ..
            })
        ));
        assert!(matches!(
            validate_correlation(&[WAD], 2),
            Err(RiskError::CorrelationShape {
                len: 1,
                expected: 4
            })
        ));
    }

    #[test]
    fn aggregate_same_direction_full_correlation_has_no_credit() {
        let a = aggregate(&[30 * WAD, 40 * WAD], &[-1, -1], &corr2(WAD), WAD / 2).unwrap();
        assert_eq!(a.undiversified, 70 * WAD);
        assert_eq!(a.charge, 70 * WAD);
    }

    #[test]
    fn aggregate_zero_correlation_is_euclidean() {
        let a = aggregate(&[30 * WAD, 40 * WAD], &[-1, 1], &corr2(0), WAD / 2).unwrap();
        assert_eq!(a.correlated, 50 * WAD);
        assert_eq!(a.charge, 50 * WAD);
    }

    #[test]
    fn aggregate_credit_is_capped() {
        // Perfect hedge: correlated = |30 - 40| = 10, but credit capped at 50% of 70.
        let a = aggregate(&[30 * WAD, 40 * WAD], &[-1, 1], &corr2(WAD), WAD / 2).unwrap();
        assert!(a.correlated <= 10 * WAD + 100);
        assert_eq!(a.charge, 35 * WAD);
    }

    #[test]
    fn aggregate_directionless_charges_add() {
        let a = aggregate(&[30 * WAD, 40 * WAD], &[0, 1], &corr2(0), 0).unwrap();
        assert_eq!(a.charge, 70 * WAD);
    }

    #[test]
    fn aggregate_errors_on_shape_mismatch() {
        assert!(aggregate(&[WAD], &[1], &corr2(0), 0).is_err());
    }
}
