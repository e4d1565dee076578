//! Native tests of the issue-10 limits and checks owned by the admin and
//! upkeep programs: the close factor and the `liquidationParams` view, the
//! per-underlying limits (vol heartbeat, price band, settlement delay), the
//! per-instrument limits (minimum notional, open-interest cap), the strike
//! range at listing, one token per collateral id, and the settlement price
//! taken from the first oracle round at or after an expiry (`getRoundData`).
//! Through the methods and, for the ABI, through the routers with alloy's
//! encoding.
#![allow(missing_docs)]

mod common;

use alloy_primitives::{aliases::U80, Address, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use common::{iw, word, Env};
use keel_engine::abi::IKeelEngine as I;
use keel_engine::errors::EngineError;
// Field codes of `KeelParameterOutOfBounds`.
use keel_engine::params::field::{
    CLOSE_FACTOR as F_CLOSE_FACTOR, HEARTBEAT as F_HEARTBEAT, MIN_NOTIONAL as F_MIN_NOTIONAL,
    OI_CAP as F_OI_CAP, PRICE_BAND as F_PRICE_BAND, SETTLEMENT_DELAY as F_SETTLEMENT_DELAY,
    STRIKE_RANGE as F_STRIKE_RANGE, TOKEN as F_TOKEN,
};
use keel_engine::params::MAX_PRICE;
use keel_engine::{events, router, KeelEngine};

const W: i128 = 1_000_000_000_000_000_000;
const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
const EXP: u64 = T0 + 30 * DAY;

const OWNER: u8 = 1;
const USDC: u8 = 2;
const WETH: u8 = 3;
const FEED: u8 = 4;
const SEQ: u8 = 5;
const BOB: u8 = 8;
const WBTC: u8 = 11;
const FEED18: u8 = 12;

sol! {
    /// Chainlink AggregatorV3's historical round read.
    function getRoundData(uint80 roundId) external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}

fn a(n: u8) -> Address {
    Address::repeat_byte(n)
}

/// A price in feed units (8 decimals).
fn p8(n: i128) -> i128 {
    n * 100_000_000
}

struct T {
    env: Env,
    e: KeelEngine,
}

impl T {
    /// An engine with underlying 0 (spot feed at 3,000, 1 h heartbeat), a
    /// perp (id 0) and WETH as collateral 1; the sequencer up for 10 days.
    fn new() -> T {
        let env = Env::new();
        env.vm.set_block_timestamp(T0);
        env.add_token(a(USDC), 6);
        env.add_token(a(WETH), 18);
        env.add_token(a(WBTC), 8);
        env.set_decimals(a(FEED), 8);
        env.set_feed(a(FEED), p8(3_000), T0);
        env.set_round(a(SEQ), 1, 0, T0 - 10 * DAY, T0 - 10 * DAY, 1);
        let mut e = KeelEngine::from(&env);
        env.vm.set_sender(a(OWNER));
        e.constructor(a(OWNER), a(USDC), a(SEQ), common::modules())
            .unwrap();
        e.set_underlying(0, a(FEED), Address::ZERO, 3_600, (W / 10) as u64, 600, 0)
            .unwrap();
        assert_eq!(e.list_instrument(0, 0, 0, 0).unwrap(), 0);
        e.set_collateral(
            1,
            a(WETH),
            a(FEED),
            3_600,
            (W / 10) as u64,
            (W / 20) as u64,
            U256::MAX,
        )
        .unwrap();
        T { env, e }
    }

    fn as_(&mut self, who: u8) -> &mut KeelEngine {
        self.env.vm.set_sender(a(who));
        &mut self.e
    }

    /// Mocks `getRoundData(id)` on the spot feed (8 decimals; answeredInRound = id).
    fn round(&self, id: u128, answer: i128, updated: u64) {
        self.round_full(id, answer, updated, id);
    }

    fn round_full(&self, id: u128, answer: i128, updated: u64, answered_in: u128) {
        let mut d = Vec::new();
        for w in [
            U256::from(id),
            iw(answer),
            U256::from(updated),
            U256::from(updated),
            U256::from(answered_in),
        ] {
            d.extend_from_slice(&word(w));
        }
        let call = getRoundDataCall {
            roundId: U80::from(id),
        };
        self.env.mock_static_call(a(FEED), call.abi_encode(), Ok(d));
    }

    fn count_logs(&self, sig: alloy_primitives::B256) -> usize {
        self.env
            .logs()
            .iter()
            .filter(|(t, _)| t.first() == Some(&sig))
            .count()
    }
}

/// `KeelParameterOutOfBounds` as (field, value, min, max), else panics.
fn oob<T: std::fmt::Debug>(r: Result<T, EngineError>) -> (u8, i128, i128, i128) {
    match r {
        Err(EngineError::ParameterOutOfBounds(e)) => (
            e.field,
            i128::try_from(e.value).unwrap(),
            i128::try_from(e.min).unwrap(),
            i128::try_from(e.max).unwrap(),
        ),
        other => panic!("expected KeelParameterOutOfBounds, got {other:?}"),
    }
}

/// `KeelOracleInvalid` as (feed, reason, updatedAt), else panics.
fn oracle<T: std::fmt::Debug>(r: Result<T, EngineError>) -> (Address, u8, u64) {
    match r {
        Err(EngineError::OracleInvalid(e)) => (e.feed, e.reason, e.updatedAt.to::<u64>()),
        other => panic!("expected KeelOracleInvalid, got {other:?}"),
    }
}

fn unauthorized<T: std::fmt::Debug>(r: Result<T, EngineError>) {
    assert!(
        matches!(r, Err(EngineError::UnauthorizedAccount(ref e)) if e.account == a(BOB)),
        "{r:?}"
    );
}

fn unknown<T: std::fmt::Debug>(r: Result<T, EngineError>, kind: u8, id: u64) {
    assert!(
        matches!(r, Err(EngineError::UnknownEntry(ref e)) if e.kind == kind && e.id == U256::from(id)),
        "{r:?}"
    );
}

// ---------------------------------------------------------------- liquidation params

#[test]
fn new_field_codes_are_the_documented_ones() {
    let codes = [
        F_TOKEN,
        F_MIN_NOTIONAL,
        F_CLOSE_FACTOR,
        F_PRICE_BAND,
        F_SETTLEMENT_DELAY,
        F_STRIKE_RANGE,
        F_OI_CAP,
    ];
    assert_eq!(codes, [23, 26, 27, 28, 29, 30, 31]);
    assert_eq!(MAX_PRICE, 10i128.pow(33));
}

#[test]
fn close_factor_is_bounded_and_liquidation_params_reads_back_in_abi_order() {
    let mut t = T::new();
    // The constructor's default close factor: 50%.
    assert_eq!(t.e.liquidation_params().7, W / 2);
    let set = |t: &mut T, cf: i128| {
        t.as_(OWNER).set_liquidation_params(
            7 * W,
            W / 50,
            W / 1000,
            W / 5,
            W / 4,
            1_800,
            1_000 * W,
            cf,
        )
    };
    assert_eq!(
        oob(set(&mut t, W / 20 - 1)),
        (F_CLOSE_FACTOR, W / 20 - 1, W / 20, W)
    );
    assert_eq!(oob(set(&mut t, W + 1)), (F_CLOSE_FACTOR, W + 1, W / 20, W));
    assert_eq!(oob(set(&mut t, 0)), (F_CLOSE_FACTOR, 0, W / 20, W));
    // Checks come before effects: nothing of the failed calls was stored.
    assert_eq!(t.e.liquidation_params().0, 5 * W);
    for cf in [W / 20, W, W / 3] {
        set(&mut t, cf).unwrap();
        assert_eq!(
            t.e.liquidation_params(),
            (7 * W, W / 50, W / 1000, W / 5, W / 4, 1_800, 1_000 * W, cf)
        );
    }
    unauthorized(t.as_(BOB).set_liquidation_params(0, 0, 0, 0, 0, 60, 1, W));
    assert!(t.count_logs(events::ParamsSet::SIGNATURE_HASH) >= 3);
}

#[test]
fn liquidation_params_route_with_alloys_encoding() {
    let mut t = T::new();
    t.env.vm.set_sender(a(OWNER));
    let call = I::setLiquidationParamsCall {
        flagReward: 3 * W,
        discountStart: W / 100,
        discountPerSecond: 7,
        discountMax: W / 2,
        buffer: 0,
        window: 86_400,
        cap: MAX_PRICE,
        closeFactor: W / 10,
    };
    let out = router::admin(&mut t.e, &call.abi_encode())
        .unwrap()
        .unwrap();
    assert!(out.is_empty());
    let out = router::admin(&mut t.e, &I::liquidationParamsCall {}.abi_encode())
        .unwrap()
        .unwrap();
    let r = I::liquidationParamsCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        (
            r.flagReward,
            r.discountStart,
            r.discountPerSecond,
            r.discountMax,
            r.buffer,
            r.window,
            r.cap,
            r.closeFactor
        ),
        (3 * W, W / 100, 7, W / 2, 0, 86_400, MAX_PRICE, W / 10)
    );
    // The close factor is the 8th word: a non-int128 word there is argument 7.
    let mut bad = call.abi_encode();
    bad[4 + 7 * 32] = 1;
    let r = router::admin(&mut t.e, &bad).unwrap();
    assert!(matches!(r, Err(EngineError::InvalidCalldata(ref c)) if c.argument == U256::from(7)));
}

// ---------------------------------------------------------------- underlying limits

#[test]
fn underlying_limits_accept_zero_or_their_bounds() {
    let mut t = T::new();
    assert_eq!(t.e.underlying_limits(0).unwrap(), (0, 0, 0));
    let band = W as u64 / 1_000;
    let ok = [
        (0, 0, 0),
        (60, band, 60),
        (172_800, W as u64 / 2, 604_800),
        (3_600, W as u64 / 20, 7_200),
    ];
    for (hb, pb, sd) in ok {
        t.as_(OWNER).set_underlying_limits(0, hb, pb, sd).unwrap();
        assert_eq!(t.e.underlying_limits(0).unwrap(), (hb, pb, sd));
    }
    let hb = |v: u64| (F_HEARTBEAT, v as i128, 60, 172_800);
    let pb = |v: u64| (F_PRICE_BAND, v as i128, W / 1_000, W / 2);
    let sd = |v: u64| (F_SETTLEMENT_DELAY, v as i128, 60, 604_800);
    let cases = [
        ((59, 0, 0), hb(59)),
        ((172_801, 0, 0), hb(172_801)),
        ((1, band, 60), hb(1)),
        ((0, band - 1, 0), pb(band - 1)),
        ((0, W as u64 / 2 + 1, 0), pb(W as u64 / 2 + 1)),
        ((0, u64::MAX, 0), pb(u64::MAX)),
        ((0, 0, 59), sd(59)),
        ((0, 0, 604_801), sd(604_801)),
        ((60, band, u64::MAX), sd(u64::MAX)),
    ];
    for ((h, p, s), want) in cases {
        assert_eq!(oob(t.as_(OWNER).set_underlying_limits(0, h, p, s)), want);
    }
    // Checks before effects: the last good values are still stored.
    assert_eq!(
        t.e.underlying_limits(0).unwrap(),
        (3_600, W as u64 / 20, 7_200)
    );
    unknown(t.as_(OWNER).set_underlying_limits(1, 0, 0, 0), 1, 1);
    unknown(t.e.underlying_limits(1), 1, 1);
    unauthorized(t.as_(BOB).set_underlying_limits(0, 0, 0, 0));
    assert_eq!(t.count_logs(events::UnderlyingLimitsSet::SIGNATURE_HASH), 4);
}

#[test]
fn underlying_limits_route_and_emit_like_alloy() {
    let mut t = T::new();
    t.env.vm.set_sender(a(OWNER));
    let call = I::setUnderlyingLimitsCall {
        id: 0,
        volHeartbeat: 900,
        priceBand: W as u64 / 10,
        settlementDelay: 86_400,
    };
    assert!(router::admin(&mut t.e, &call.abi_encode())
        .unwrap()
        .unwrap()
        .is_empty());
    let want = events::UnderlyingLimitsSet {
        id: 0,
        volHeartbeat: 900,
        priceBand: W as u64 / 10,
        settlementDelay: 86_400,
    }
    .encode_log_data();
    let log = t.env.logs().pop().unwrap();
    assert_eq!(log, (want.topics().to_vec(), want.data.to_vec()));
    let out = router::admin(&mut t.e, &I::underlyingLimitsCall { id: 0 }.abi_encode())
        .unwrap()
        .unwrap();
    let r = I::underlyingLimitsCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        (r.volHeartbeat, r.priceBand, r.settlementDelay),
        (900, W as u64 / 10, 86_400)
    );
}

// ---------------------------------------------------------------- instrument limits

#[test]
fn instrument_limits_default_bounds_and_view() {
    let mut t = T::new();
    // Listing gives the default minimum notional (10) and no cap.
    assert_eq!(t.e.instrument_limits(0).unwrap(), (10 * W, 0, 0));
    let id = t.as_(OWNER).list_instrument(0, 2, 2_500 * W, EXP).unwrap();
    assert_eq!(t.e.instrument_limits(id).unwrap(), (10 * W, 0, 0));
    for (min, cap) in [(0, 0), (MAX_PRICE, MAX_PRICE), (W, 500 * W)] {
        t.as_(OWNER).set_instrument_limits(id, min, cap).unwrap();
        assert_eq!(t.e.instrument_limits(id).unwrap(), (min, cap, 0));
    }
    let cases = [
        ((-1, 0), (F_MIN_NOTIONAL, -1, 0, MAX_PRICE)),
        (
            (MAX_PRICE + 1, 0),
            (F_MIN_NOTIONAL, MAX_PRICE + 1, 0, MAX_PRICE),
        ),
        ((0, -W), (F_OI_CAP, -W, 0, MAX_PRICE)),
        ((0, MAX_PRICE + 1), (F_OI_CAP, MAX_PRICE + 1, 0, MAX_PRICE)),
    ];
    for ((min, cap), want) in cases {
        assert_eq!(oob(t.as_(OWNER).set_instrument_limits(id, min, cap)), want);
    }
    assert_eq!(t.e.instrument_limits(id).unwrap(), (W, 500 * W, 0));
    unknown(
        t.as_(OWNER).set_instrument_limits(id + 1, 0, 0),
        2,
        id as u64 + 1,
    );
    unknown(t.e.instrument_limits(id + 1), 2, id as u64 + 1);
    unauthorized(t.as_(BOB).set_instrument_limits(id, 0, 0));
    assert_eq!(t.count_logs(events::InstrumentLimitsSet::SIGNATURE_HASH), 3);
}

#[test]
fn instrument_limits_route_and_emit_like_alloy() {
    let mut t = T::new();
    t.env.vm.set_sender(a(OWNER));
    let call = I::setInstrumentLimitsCall {
        id: 0,
        minNotional: 25 * W,
        openInterestCap: 1_000 * W,
    };
    assert!(router::admin(&mut t.e, &call.abi_encode())
        .unwrap()
        .unwrap()
        .is_empty());
    let want = events::InstrumentLimitsSet {
        id: 0,
        minNotional: 25 * W,
        openInterestCap: 1_000 * W,
    }
    .encode_log_data();
    assert_eq!(
        t.env.logs().pop().unwrap(),
        (want.topics().to_vec(), want.data.to_vec())
    );
    let out = router::admin(&mut t.e, &I::instrumentLimitsCall { id: 0 }.abi_encode())
        .unwrap()
        .unwrap();
    let r = I::instrumentLimitsCall::abi_decode_returns(&out).unwrap();
    assert_eq!(
        (r.minNotional, r.openInterestCap, r.openInterest),
        (25 * W, 1_000 * W, 0)
    );
}

// ---------------------------------------------------------------- listing

#[test]
fn option_strikes_must_lie_within_a_fifth_to_five_times_spot() {
    let mut t = T::new();
    let (lo, hi) = (600 * W, 15_000 * W);
    for kind in [1, 2] {
        for k in [lo, 3_000 * W, hi] {
            t.as_(OWNER).list_instrument(0, kind, k, EXP).unwrap();
        }
        for k in [lo - 1, hi + 1, 1, MAX_PRICE] {
            let r = t.as_(OWNER).list_instrument(0, kind, k, EXP);
            assert_eq!(
                oob(r),
                (F_STRIKE_RANGE, k, lo, hi),
                "kind {kind} strike {k}"
            );
        }
    }
    // The bounds follow the current oracle spot; the lower one rounds up
    // (underlying 1: an 18-decimal feed at 3,000 + 3 wei).
    t.env.set_decimals(a(FEED18), 18);
    t.env.set_feed(a(FEED18), 3_000 * W + 3, T0);
    t.as_(OWNER)
        .set_underlying(1, a(FEED18), Address::ZERO, 3_600, (W / 10) as u64, 600, 0)
        .unwrap();
    let lo = 600 * W + 1;
    assert_eq!(
        oob(t.as_(OWNER).list_instrument(1, 1, lo - 1, EXP)),
        (F_STRIKE_RANGE, lo - 1, lo, 15_000 * W + 15)
    );
    t.as_(OWNER).list_instrument(1, 1, lo, EXP).unwrap();
    t.as_(OWNER)
        .list_instrument(1, 2, 15_000 * W + 15, EXP)
        .unwrap();
    // The 3,000 put of the finding cannot be listed once spot is at 550.
    t.env.set_feed(a(FEED), p8(550), T0);
    assert_eq!(
        oob(t.as_(OWNER).list_instrument(0, 2, 3_000 * W, EXP)),
        (F_STRIKE_RANGE, 3_000 * W, 110 * W, 2_750 * W)
    );
    // An option needs a fresh spot; a perp does not read the feed.
    t.env.vm.set_block_timestamp(T0 + 3_601);
    let (feed, reason, _) = oracle(t.as_(OWNER).list_instrument(0, 1, 550 * W, EXP));
    assert_eq!((feed, reason), (a(FEED), 3));
    let n = t.e.registry_counts().2;
    assert_eq!(t.as_(OWNER).list_instrument(0, 0, 0, 0).unwrap(), n);
    assert_eq!(t.e.instrument_limits(n).unwrap(), (10 * W, 0, 0));
}

// ---------------------------------------------------------------- collateral

#[test]
fn a_token_is_listed_under_one_collateral_id_only() {
    let mut t = T::new();
    let list = |t: &mut T, id: u8, token: u8| {
        t.as_(OWNER).set_collateral(
            id,
            a(token),
            a(FEED),
            3_600,
            (W / 10) as u64,
            (W / 20) as u64,
            U256::MAX,
        )
    };
    // WETH is id 1 and the settlement token (USDC) id 0.
    assert_eq!(oob(list(&mut t, 2, WETH)), (F_TOKEN, 1, 0, 0));
    assert_eq!(oob(list(&mut t, 2, USDC)), (F_TOKEN, 0, 0, 0));
    assert_eq!(t.e.registry_counts().0, 2);
    // Updating id 1 with its own token is fine; another token is a new id.
    list(&mut t, 1, WETH).unwrap();
    list(&mut t, 2, WBTC).unwrap();
    assert_eq!(oob(list(&mut t, 3, WBTC)), (F_TOKEN, 2, 0, 0));
    // Changing an existing id's token is still refused (value 0).
    assert_eq!(oob(list(&mut t, 1, WBTC)), (F_TOKEN, 0, 0, 0));
}

// ---------------------------------------------------------------- settlement

/// Rounds 40..=42 of the spot feed around the expiry: 40 before it, 41 the
/// first after it (3,200, 5 s late), 42 a later one (3,500).
fn settlement_rounds(t: &T) {
    t.round(40, p8(3_100), EXP - 30);
    t.round(41, p8(3_200), EXP + 5);
    t.round(42, p8(3_500), EXP + 600);
}

#[test]
fn settlement_takes_the_first_round_at_or_after_expiry() {
    let mut t = T::new();
    settlement_rounds(&t);
    assert!(matches!(
        t.e.record_settlement_price(0, EXP, 41),
        Err(EngineError::InvalidExpiry(_))
    ));
    // Ten days after expiry: the round is historical, no heartbeat applies
    // (the latest round of the feed is stale by then).
    t.env.vm.set_block_timestamp(EXP + 10 * DAY);
    // A later round is not the first: its predecessor is after expiry too.
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 42)),
        (a(FEED), 5, EXP + 5)
    );
    // A round before expiry.
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 40)),
        (a(FEED), 4, EXP - 30)
    );
    assert_eq!(t.e.settlement_price(0, EXP), 0);
    assert_eq!(t.e.record_settlement_price(0, EXP, 41).unwrap(), 3_200 * W);
    assert_eq!(t.e.settlement_price(0, EXP), 3_200 * W);
    assert!(matches!(
        t.e.record_settlement_price(0, EXP, 41),
        Err(EngineError::SettlementPrice(ref e)) if e.set
    ));
    let want = events::SettlementPriceSet {
        underlying: 0,
        expiry: EXP,
        price: 3_200 * W,
    }
    .encode_log_data();
    assert_eq!(
        t.env.logs().pop().unwrap(),
        (want.topics().to_vec(), want.data.to_vec())
    );
}

#[test]
fn settlement_round_must_come_within_the_delay() {
    let mut t = T::new();
    t.env.vm.set_block_timestamp(EXP + DAY);
    // Default delay 1 h: a first round exactly at expiry + 1 h is accepted...
    t.round(50, p8(3_000), EXP - 1);
    t.round(51, p8(3_300), EXP + 3_600);
    assert_eq!(t.e.record_settlement_price(0, EXP, 51).unwrap(), 3_300 * W);
    // ... one second later is too late (reason 6), for another expiry.
    let exp2 = EXP + 1_000;
    t.round(60, p8(3_000), exp2 - 1);
    t.round(61, p8(3_300), exp2 + 3_601);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, exp2, 61)),
        (a(FEED), 6, exp2 + 3_601)
    );
    // The risk admin's longer settlement delay (the escape hatch) admits it.
    t.as_(OWNER)
        .set_underlying_limits(0, 0, 0, 2 * 3_600)
        .unwrap();
    assert_eq!(t.e.record_settlement_price(0, exp2, 61).unwrap(), 3_300 * W);
    // A round exactly at expiry is the first at or after it.
    let exp3 = EXP + 2_000;
    t.round(70, p8(2_000), exp3 - 1);
    t.round(71, p8(2_100), exp3);
    assert_eq!(t.e.record_settlement_price(0, exp3, 71).unwrap(), 2_100 * W);
}

#[test]
fn settlement_round_must_be_valid_and_provably_first() {
    let mut t = T::new();
    t.env.vm.set_block_timestamp(EXP + DAY);
    // Round 0 has no predecessor; an unreadable predecessor proves nothing.
    t.round(0, p8(3_000), EXP + 5);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 0)),
        (a(FEED), 5, 0)
    );
    t.round(81, p8(3_000), EXP + 5); // round 80 not mocked: empty answer
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 81)),
        (a(FEED), 5, 0)
    );
    t.env.mock_static_call(
        a(FEED),
        getRoundDataCall {
            roundId: U80::from(80),
        }
        .abi_encode(),
        Err(vec![]),
    );
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 81)),
        (a(FEED), 5, 0)
    );
    // The round itself unreadable (0), non-positive (1), incomplete (2).
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 99)),
        (a(FEED), 0, 0)
    );
    t.round(90, p8(3_000), EXP - 10);
    t.round(91, 0, EXP + 5);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 91)),
        (a(FEED), 1, EXP + 5)
    );
    t.round(91, -p8(1), EXP + 5);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 91)),
        (a(FEED), 1, EXP + 5)
    );
    t.round_full(91, p8(3_000), EXP + 5, 90);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 91)),
        (a(FEED), 2, EXP + 5)
    );
    t.round(91, p8(3_000), 0);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, 91)),
        (a(FEED), 2, 0)
    );
    assert_eq!(t.e.settlement_price(0, EXP), 0);
    // A Chainlink proxy round id (phase << 64 | aggregator round) works.
    let id = (3u128 << 64) | 7;
    t.round(id - 1, p8(3_000), EXP - 10);
    t.round(id, p8(3_050), EXP + 10);
    assert_eq!(t.e.record_settlement_price(0, EXP, id).unwrap(), 3_050 * W);
}

/// The first round of a Chainlink phase has no readable predecessor; it is
/// accepted (else an expiry right after a phase change could never settle),
/// while any other round with an unreadable predecessor is refused.
#[test]
fn settlement_accepts_the_first_round_of_a_phase() {
    let mut t = T::new();
    t.env.vm.set_block_timestamp(EXP + DAY);
    let second = (4u128 << 64) | 2;
    t.round(second, p8(3_100), EXP + 20);
    assert_eq!(
        oracle(t.e.record_settlement_price(0, EXP, second)),
        (a(FEED), 5, 0)
    );
    let first = (4u128 << 64) | 1;
    t.round(first, p8(3_050), EXP + 10);
    assert_eq!(
        t.e.record_settlement_price(0, EXP, first).unwrap(),
        3_050 * W
    );
}

#[test]
fn settlement_needs_the_sequencer_up() {
    let mut t = T::new();
    settlement_rounds(&t);
    t.env.vm.set_block_timestamp(EXP + DAY);
    t.env.set_round(a(SEQ), 2, 1, EXP, EXP, 2); // down
    assert!(matches!(
        t.e.record_settlement_price(0, EXP, 41),
        Err(EngineError::SequencerUnavailable(_))
    ));
    assert_eq!(t.e.settlement_price(0, EXP), 0);
    t.env.set_round(a(SEQ), 3, 0, EXP + 100, EXP + 100, 3); // up again
    assert_eq!(t.e.record_settlement_price(0, EXP, 41).unwrap(), 3_200 * W);
}

#[test]
fn record_settlement_price_routes_a_uint80_round_id() {
    let mut t = T::new();
    settlement_rounds(&t);
    t.env.vm.set_block_timestamp(EXP + DAY);
    let call = I::recordSettlementPriceCall {
        underlying: 0,
        expiry: EXP,
        roundId: U80::from(41),
    };
    let mut data = call.abi_encode();
    // A round id word above 80 bits is not a uint80 (argument 2).
    data[4 + 2 * 32 + 21] = 1;
    let r = router::upkeep(&mut t.e, &data).unwrap();
    assert!(matches!(r, Err(EngineError::InvalidCalldata(ref c)) if c.argument == U256::from(2)));
    let out = router::upkeep(&mut t.e, &call.abi_encode())
        .unwrap()
        .unwrap();
    assert_eq!(
        I::recordSettlementPriceCall::abi_decode_returns(&out).unwrap(),
        3_200 * W
    );
}
