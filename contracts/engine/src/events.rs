//! Events: one for every state change, so indexers can rebuild the engine's state.
//! Declared in the `IKeelEngine` interface ([`crate::abi`]); re-exported here.
//!
//! Amounts are WAD (18 decimals) unless they are token amounts (token units).
//!
//! Why a hand-written encoder ([`Emit`]) instead of the SDK's `log`: `log`
//! goes through alloy's generic `encode_topics_raw`/`encode_data_to`, one
//! monomorphic copy per event type, about 1 KB of deployed code in each engine
//! program. Every engine event has only static fields, so an event is its
//! signature hash, one word per indexed field (topics) and one word per other
//! field (data), in declaration order. `tests` checks the result against
//! alloy's `encode_log_data` for every event.
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use stylus_sdk::{host::VM, stylus_core::RawLogAccess};

pub use crate::abi::IKeelEngine::{
    AccountFlagged, BadDebtSettled, CollateralLiquidated, CollateralSet, CorrelationSet,
    DeficitChanged, Deposited, FlagCleared, InstrumentListed, InsuranceFundChanged, Liquidated,
    MarketSet, OwnershipTransferStarted, OwnershipTransferred, ParamsSet, PauseSet, Poked,
    PositionSettled, RoleSet, SettlementPriceSet, TradeReported, UnderlyingSet, VolClamped,
    Withdrawn,
};

/// The ABI word of a static value: what both a topic and a data slot hold.
pub trait Word {
    /// The 32-byte word (big-endian; signed values sign-extended, addresses
    /// and small unsigned values left-padded with zeros).
    fn word(&self) -> [u8; 32];
}

impl Word for U256 {
    fn word(&self) -> [u8; 32] {
        self.to_be_bytes::<32>()
    }
}

impl Word for Address {
    fn word(&self) -> [u8; 32] {
        self.into_word().0
    }
}

impl Word for i128 {
    fn word(&self) -> [u8; 32] {
        let mut w = [if *self < 0 { 0xff } else { 0 }; 32];
        w[16..].copy_from_slice(&self.to_be_bytes());
        w
    }
}

/// Unsigned values up to 64 bits (`uint8`..`uint64`, `bool`).
fn small(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

impl Word for u64 {
    fn word(&self) -> [u8; 32] {
        small(*self)
    }
}

impl Word for u32 {
    fn word(&self) -> [u8; 32] {
        small(*self as u64)
    }
}

impl Word for u8 {
    fn word(&self) -> [u8; 32] {
        small(*self as u64)
    }
}

impl Word for bool {
    fn word(&self) -> [u8; 32] {
        small(*self as u64)
    }
}

/// An engine event that can be emitted without alloy's generic encoder.
pub trait Emit {
    /// Emits the event from the current program (LOG1..LOG4).
    fn emit(&self, vm: &VM);
}

/// Emits a log whose first `topics` words are its topics and the rest its
/// data; the one non-generic function every event goes through.
fn emit_words(vm: &VM, words: &[[u8; 32]], topics: usize) {
    vm.emit_log(words.as_flattened(), topics);
}

/// `impl Emit` for events, listing the indexed fields, then the data fields,
/// each in declaration order (the order `tests` checks against alloy).
macro_rules! emit {
    ($($ev:ident [$($t:ident),*] [$($d:ident),*];)*) => {$(
        impl Emit for $ev {
            fn emit(&self, vm: &VM) {
                let words = [$ev::SIGNATURE_HASH.0 $(, self.$t.word())* $(, self.$d.word())*];
                emit_words(vm, &words, 1 $(+ { let _ = stringify!($t); 1 })*);
            }
        }
    )*};
}

emit! {
    OwnershipTransferStarted [previousOwner, newOwner] [];
    OwnershipTransferred [previousOwner, newOwner] [];
    RoleSet [role, account] [];
    PauseSet [] [paused];
    MarketSet [market] [authorised];
    CollateralSet [id, token] [priceFeed, imHaircut, mmHaircut, depositCap];
    UnderlyingSet [id, priceFeed] [volFeed];
    CorrelationSet [a, b] [rho];
    ParamsSet [which] [];
    InstrumentListed [id, underlying] [kind, strike, expiry];
    Deposited [account, collateral] [from, amount];
    Withdrawn [account, collateral] [to, amount];
    TradeReported [account, instrument, market] [sizeDelta, price, fee, realisedPnl];
    Poked [underlying] [price, variancePerSecond, scanRange, deviation];
    AccountFlagged [account, keeper] [equity, maintenance, reward];
    FlagCleared [account] [];
    Liquidated [account, liquidator, instrument] [size, price, discount];
    CollateralLiquidated [account, liquidator, id] [amount, paid];
    SettlementPriceSet [underlying, expiry] [price];
    PositionSettled [account, instrument] [size, payout];
    InsuranceFundChanged [] [delta, balance];
    BadDebtSettled [account] [deficit, fromInsurance, socialised, lossIndex];
    DeficitChanged [] [delta, deficit];
    VolClamped [underlying] [answer, used];
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{boxed::Box, vec::Vec};
    use alloy_primitives::B256;
    use stylus_sdk::testing::TestVM;

    /// Emits `e` with the hand encoder and checks it equals alloy's encoding.
    fn check<E: Emit + SolEvent>(e: E) {
        let test = TestVM::new();
        let vm = VM {
            host: Box::new(test.clone()),
        };
        e.emit(&vm);
        let logs = test.get_emitted_logs();
        let want = e.encode_log_data();
        assert_eq!(logs.len(), 1);
        let topics: Vec<B256> = want.topics().to_vec();
        assert_eq!(logs[0].0, topics, "{} topics", E::SIGNATURE);
        assert_eq!(logs[0].1, want.data.to_vec(), "{} data", E::SIGNATURE);
    }

    #[test]
    fn emit_equals_alloy_encoding_for_every_event() {
        let a = Address::repeat_byte(0xa1);
        let b = Address::repeat_byte(0xb2);
        let u = U256::MAX - U256::from(12345u64);
        let n = -7_000_000_000_000_000_000i128;
        let p = i128::MAX - 3;
        check(OwnershipTransferStarted {
            previousOwner: a,
            newOwner: b,
        });
        check(OwnershipTransferred {
            previousOwner: b,
            newOwner: a,
        });
        check(RoleSet {
            role: 2,
            account: a,
        });
        check(PauseSet { paused: true });
        check(MarketSet {
            market: b,
            authorised: true,
        });
        check(CollateralSet {
            id: 7,
            token: a,
            priceFeed: b,
            imHaircut: u64::MAX,
            mmHaircut: 3,
            depositCap: u,
        });
        check(UnderlyingSet {
            id: 255,
            priceFeed: a,
            volFeed: b,
        });
        check(CorrelationSet { a: 1, b: 2, rho: n });
        check(ParamsSet { which: 9 });
        check(InstrumentListed {
            id: u32::MAX,
            underlying: 3,
            kind: 2,
            strike: p,
            expiry: u64::MAX - 1,
        });
        check(Deposited {
            account: u,
            collateral: 4,
            from: a,
            amount: U256::from(1u8),
        });
        check(Withdrawn {
            account: U256::from(77u8),
            collateral: 0,
            to: b,
            amount: u,
        });
        check(TradeReported {
            account: u,
            instrument: 12,
            market: a,
            sizeDelta: n,
            price: p,
            fee: -1,
            realisedPnl: i128::MIN,
        });
        check(Poked {
            underlying: 5,
            price: p,
            variancePerSecond: 1,
            scanRange: n,
            deviation: true,
        });
        check(AccountFlagged {
            account: u,
            keeper: b,
            equity: n,
            maintenance: p,
            reward: 0,
        });
        check(FlagCleared { account: u });
        check(Liquidated {
            account: u,
            liquidator: U256::from(3u8),
            instrument: 9,
            size: n,
            price: p,
            discount: -5,
        });
        check(CollateralLiquidated {
            account: u,
            liquidator: U256::ZERO,
            id: 1,
            amount: u,
            paid: n,
        });
        check(SettlementPriceSet {
            underlying: 2,
            expiry: 1_800_000_000,
            price: p,
        });
        check(PositionSettled {
            account: u,
            instrument: 4,
            size: n,
            payout: p,
        });
        check(InsuranceFundChanged {
            delta: n,
            balance: p,
        });
        check(BadDebtSettled {
            account: u,
            deficit: p,
            fromInsurance: 1,
            socialised: n,
            lossIndex: 10i128.pow(18),
        });
        check(DeficitChanged {
            delta: n,
            deficit: p,
        });
        check(VolClamped {
            underlying: 4,
            answer: p,
            used: n,
        });
    }
}

// ---- per-underlying and per-instrument limits (admin program)

pub use crate::abi::IKeelEngine::{InstrumentLimitsSet, UnderlyingLimitsSet};

emit! {
    UnderlyingLimitsSet [id] [volHeartbeat, priceBand, settlementDelay];
    InstrumentLimitsSet [id] [minNotional, openInterestCap];
}

#[cfg(test)]
mod limits_tests {
    use super::*;
    use alloc::boxed::Box;
    use stylus_sdk::testing::TestVM;

    /// Emits `e` with the hand encoder and checks it equals alloy's encoding.
    fn check<E: Emit + SolEvent>(e: E) {
        let test = TestVM::new();
        e.emit(&VM {
            host: Box::new(test.clone()),
        });
        let want = e.encode_log_data();
        assert_eq!(
            test.get_emitted_logs(),
            [(want.topics().to_vec(), want.data.to_vec())],
            "{}",
            E::SIGNATURE
        );
    }

    #[test]
    fn limits_events_equal_alloy_encoding() {
        check(UnderlyingLimitsSet {
            id: 7,
            volHeartbeat: u64::MAX,
            priceBand: 1,
            settlementDelay: 604_800,
        });
        check(InstrumentLimitsSet {
            id: u32::MAX,
            minNotional: i128::MAX,
            openInterestCap: -1,
        });
    }
}
