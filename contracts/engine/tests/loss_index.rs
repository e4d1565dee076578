//! Property tests of the socialised-loss index (`ledger::charge`,
//! `ledger::scaled`): over random balances, losses and epochs, the positive
//! balances after a charge are worth what the pool says they are (never
//! more, at most a few wei less per balance), the index never reaches 0, and
//! a loss after an epoch ended is still charged.
#![allow(missing_docs)]

use keel_engine::ledger::{charge, pack, scaled, LossIndex};
use keel_engine::params::MIN_LOSS_INDEX;
use proptest::prelude::*;

const W: i128 = 1_000_000_000_000_000_000;

/// Balances written at `at`, valued under `now`.
fn total(balances: &[(i128, i128)], now: &LossIndex) -> i128 {
    balances.iter().map(|(c, at)| scaled(*c, *at, now)).sum()
}

fn balances() -> impl Strategy<Value = Vec<i128>> {
    prop::collection::vec(1i128..1_000_000 * W, 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One charge: the balances lose `charged` in total, rounding only in the
    /// protocol's favour (by at most one index unit of each balance, i.e.
    /// 1e-9 of the pool since the index is >= 1e9, plus a wei per balance),
    /// and the index stays > 0.
    #[test]
    fn a_charge_takes_exactly_its_share_and_never_zeroes_the_index(
        bs in balances(),
        start in MIN_LOSS_INDEX..=W,
        loss_share in 0u32..=1_200, // loss as per mille of P (above 1000: beyond all cash)
    ) {
        let now = LossIndex { epoch: 7, index: start, prev_end: 0 };
        let written: Vec<(i128, i128)> = bs.iter().map(|b| (*b, pack(7, start))).collect();
        let p: i128 = bs.iter().sum();
        let loss = p / 1_000 * loss_share as i128;
        let (charged, next) = charge(&now, p, loss).unwrap();
        prop_assert_eq!(charged, loss.min(p));
        prop_assert!(next.index >= MIN_LOSS_INDEX && next.index <= W);
        let after = total(&written, &next);
        prop_assert!(after <= p - charged, "balances {} > pool {}", after, p - charged);
        prop_assert!(after >= p - charged - 2 * bs.len() as i128 - p / 1_000_000_000,
            "balances {} lost more than their share of {}", after, p - charged);
    }

    /// Two charges with new balances in between, across an epoch end: the
    /// second loss is charged to the balances of its time (old and new),
    /// never to nobody.
    #[test]
    fn a_loss_after_an_epoch_end_is_charged(
        old in balances(),
        new in balances(),
        second_share in 1u32..=1_000,
    ) {
        let start = LossIndex { epoch: 0, index: W, prev_end: 0 };
        let p0: i128 = old.iter().sum();
        // A loss of all but a sliver ends the epoch.
        let (c0, mid) = charge(&start, p0, p0 - p0 / 10_000_000_000).unwrap();
        prop_assert_eq!(mid.epoch, 1);
        let mut written: Vec<(i128, i128)> = old.iter().map(|b| (*b, pack(0, W))).collect();
        let p1 = p0 - c0;
        let mut p = p1;
        for b in &new {
            written.push((*b, pack(mid.epoch, mid.index)));
            p += b;
        }
        let loss = p / 1_000 * second_share as i128;
        let (c1, end) = charge(&mid, p, loss).unwrap();
        prop_assert!(c1 > 0 && c1 == loss.min(p));
        prop_assert!(end.index > 0);
        let after = total(&written, &end);
        let before = total(&written, &mid);
        prop_assert!(before <= p && after <= p - c1);
        prop_assert!(before - after <= c1 + p / 1_000_000_000 + 4 * written.len() as i128,
            "charged {} but balances fell by {}", c1, before - after);
        prop_assert!(before - after >= c1 - 4 * written.len() as i128 - p / 1_000_000_000,
            "charged {} but balances fell by {}", c1, before - after);
    }
}

#[test]
fn a_full_wipe_ends_the_epoch_at_zero_and_restarts_at_one() {
    let now = LossIndex {
        epoch: 0,
        index: W,
        prev_end: 0,
    };
    let (charged, next) = charge(&now, 500 * W, 900 * W).unwrap();
    assert_eq!(charged, 500 * W);
    assert_eq!(
        next,
        LossIndex {
            epoch: 1,
            index: W,
            prev_end: 0
        }
    );
    assert_eq!(scaled(500 * W, pack(0, W), &next), 0);
    // A balance written after the wipe is charged by the next loss.
    let (c, after) = charge(&next, 100 * W, 10 * W).unwrap();
    assert_eq!(c, 10 * W);
    assert_eq!(scaled(100 * W, pack(1, W), &after), 90 * W);
}
