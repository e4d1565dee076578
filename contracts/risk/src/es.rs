//! Historical-simulation expected shortfall over a ring buffer of joint returns.
//!
//! Each stored epoch holds one simple return per underlying (all observed over
//! the same epoch). The portfolio is revalued with every underlying's spot
//! moved by its epoch return (vol unchanged, no time roll); losses are sorted
//! and ES at confidence c is the mean of the worst `ceil(N x (1 - c))` losses
//! (rounded up), floored at 0. Opt-in via `RiskParams::es_enabled`.

use alloc::vec::Vec;

use crate::error::RiskError;
use crate::fixed::{add, mul_div, sub, wmul, MathError, Rounding, Wad, WAD};
use crate::scenario::{shocked_spot, PricedSeries, VolShock};

/// Expected shortfall and value-at-risk of a loss sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EsResult {
    /// Mean of the tail losses, rounded up, >= 0 (WAD).
    pub es: Wad,
    /// Smallest loss inside the tail (the VaR at the same confidence), >= 0 (WAD).
    pub var: Wad,
    /// Number of losses in the tail: ceil(N x (1 - c)), at least 1.
    pub tail: u32,
}

/// ES and VaR of `losses` (positive = loss) at `confidence` (WAD in (0, 1)).
/// An empty sample gives zeros. Sorts a copy; O(N log N).
pub fn es_from_losses(losses: &[Wad], confidence: Wad) -> Result<EsResult, RiskError> {
    if losses.is_empty() {
        return Ok(EsResult {
            es: 0,
            var: 0,
            tail: 0,
        });
    }
    let n = losses.len() as i128;
    let tail = mul_div(n, sub(WAD, confidence)?, WAD, Rounding::Up)?.clamp(1, n) as usize;
    let mut sorted: Vec<Wad> = losses.to_vec();
    heapsort_descending(&mut sorted);
    let mut sum: Wad = 0;
    for l in &sorted[..tail] {
        sum = add(sum, *l)?;
    }
    let es = mul_div(sum, 1, tail as i128, Rounding::Up)?.max(0);
    Ok(EsResult {
        es,
        var: sorted[tail - 1].max(0),
        tail: tail as u32,
    })
}

/// In-place heapsort into descending order: O(N log N) worst case, no allocation,
/// and far smaller in WASM than `core`'s pattern-defeating quicksort.
fn heapsort_descending(v: &mut [Wad]) {
    // Min-heap: repeatedly moving the minimum to the end leaves v descending.
    fn sift_down(v: &mut [Wad], mut root: usize, end: usize) {
        loop {
            let mut child = 2 * root + 1;
            if child >= end {
                return;
            }
            if child + 1 < end && v[child + 1] < v[child] {
                child += 1;
            }
            if v[root] <= v[child] {
                return;
            }
            v.swap(root, child);
            root = child;
        }
    }
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift_down(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Portfolio loss in each stored epoch. `series[u]` are the priced series of
/// underlying u, `spots[u]` its spot; `history` is row-major epochs x n.
/// Loss = -(sum over series of size x (value at shocked spot - value)), with
/// each term rounded down (so losses round up).
pub fn historical_losses(
    series: &[Vec<PricedSeries>],
    spots: &[Wad],
    history: &[Wad],
) -> Result<Vec<Wad>, RiskError> {
    let n = spots.len();
    if n == 0 || series.len() != n || !history.len().is_multiple_of(n) {
        return Err(RiskError::HistoryShape {
            len: history.len().min(u32::MAX as usize) as u32,
            underlyings: n as u32,
        });
    }
    let mut losses = Vec::with_capacity(history.len() / n);
    for row in history.chunks_exact(n) {
        let mut pnl: Wad = 0;
        for u in 0..n {
            if series[u].is_empty() {
                continue;
            }
            let s = shocked_spot(spots[u], row[u])?;
            for ps in &series[u] {
                let dv = sub(ps.value_at(s, VolShock::None, 0)?, ps.value)?;
                pnl = add(pnl, wmul(ps.size, dv, Rounding::Down)?)?;
            }
        }
        losses.push(pnl.checked_neg().ok_or(MathError::Overflow)?);
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es_from_losses_averages_the_tail() {
        let losses: Vec<Wad> = (1..=100).map(|i| i * WAD).collect();
        let r = es_from_losses(&losses, WAD / 100 * 95).unwrap();
        assert_eq!(r.tail, 5);
        assert_eq!(r.var, 96 * WAD);
        assert_eq!(r.es, 98 * WAD);
    }

    #[test]
    fn es_from_losses_floors_at_zero_and_rounds_up() {
        let r = es_from_losses(&[-5 * WAD, -3 * WAD], WAD / 2).unwrap();
        assert_eq!((r.es, r.var, r.tail), (0, 0, 1));
        let r = es_from_losses(&[1, 2, 0, 0], WAD / 2).unwrap();
        // tail = 2: (2 + 1) / 2 = 1.5 -> 2.
        assert_eq!(r.es, 2);
    }

    #[test]
    fn historical_losses_errors_on_shape() {
        assert!(historical_losses(&[Vec::new()], &[WAD], &[]).is_ok());
        assert!(matches!(
            historical_losses(&[Vec::new(), Vec::new()], &[WAD, WAD], &[0, 0, 0]),
            Err(RiskError::HistoryShape {
                len: 3,
                underlyings: 2
            })
        ));
    }

    #[test]
    fn heapsort_descending_sorts() {
        let mut v: Vec<Wad> = alloc::vec![3, -1, 7, 7, 0, -5, 12, 1];
        heapsort_descending(&mut v);
        assert_eq!(v, alloc::vec![12, 7, 7, 3, 1, 0, -1, -5]);
        let mut e: Vec<Wad> = Vec::new();
        heapsort_descending(&mut e);
        let mut one: Vec<Wad> = alloc::vec![4];
        heapsort_descending(&mut one);
        assert_eq!(one, alloc::vec![4]);
        // Pseudo-random larger input against the library sort.
        let mut x: Vec<Wad> = (0..500).map(|i: i128| (i * 7919) % 1009 - 500).collect();
        let mut y = x.clone();
        heapsort_descending(&mut x);
        y.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(x, y);
    }
}
