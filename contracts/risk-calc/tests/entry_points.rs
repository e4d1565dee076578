//! accountGreeks, markPrice and ewmaUpdate through the full calldata path
//! (encode -> dispatch -> decode), natively: the encoders against alloy's ABI
//! encoder, round trips, bit-for-bit equality with keel-risk called directly,
//! and every error path.

use alloy_primitives::{I256, U256};
use alloy_sol_types::SolCall;
use keel_risk::*;
use keel_risk_calc::abi::{accountGreeksCall, accountGreeksReturn, ewmaUpdateCall, markPriceCall};
use keel_risk_calc::codec::{
    code, decode_ewma_state, decode_ewma_update_args, decode_inputs, decode_mark_price,
    decode_mark_price_args, encode_account_greeks, encode_account_margin, encode_ewma_state,
    encode_ewma_update, encode_mark_price, encode_word, flatten, GreeksOutput, Inputs,
    MarkPriceArgs,
};
use keel_risk_calc::{dispatch, invalid, RiskCalcError};

const NOW: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

fn w(v: i128) -> I256 {
    I256::try_from(v).unwrap()
}

fn ws(v: &[i128]) -> Vec<I256> {
    v.iter().map(|x| w(*x)).collect()
}

/// An int256 just outside i128.
fn too_big() -> I256 {
    w(i128::MAX) + I256::ONE
}

fn err<T>(field: u8, index: u64) -> Result<T, RiskCalcError> {
    Err(invalid(field, index))
}

fn math<T>(kind: u8) -> Result<T, RiskCalcError> {
    Err(RiskCalcError::math(kind))
}

fn market(spot: Wad) -> UnderlyingMarket {
    UnderlyingMarket {
        spot,
        scan_range: WAD / 10,
        oracle_confidence: WAD / 1000,
        smile: Smile {
            atm_vol: WAD / 10 * 8,
            skew: -WAD / 5,
            curvature: WAD / 2,
            min_vol: WAD / 10,
            max_vol: 3 * WAD,
        },
    }
}

fn option(kind: OptionKind, strike: Wad, expiry: u64) -> Instrument {
    Instrument::Option {
        kind,
        strike,
        expiry,
    }
}

/// A long call, a short put and a perp on underlying 0; a short call on 1.
fn inputs() -> Inputs {
    let pos = |underlying, instrument, size| Position {
        underlying,
        instrument,
        size,
        entry_price: if instrument == Instrument::Perp {
            1900 * WAD
        } else {
            0
        },
    };
    Inputs {
        portfolio: Portfolio {
            collaterals: vec![Collateral {
                amount: 100_000 * WAD,
                price: WAD,
                im_haircut: 0,
                mm_haircut: 0,
            }],
            cash: -5 * WAD,
            positions: vec![
                pos(
                    0,
                    option(OptionKind::Call, 2100 * WAD, NOW + 30 * DAY),
                    2 * WAD,
                ),
                pos(0, option(OptionKind::Put, 1800 * WAD, NOW + 7 * DAY), -WAD),
                pos(0, Instrument::Perp, -WAD / 2),
                pos(
                    1,
                    option(OptionKind::Call, 110 * WAD, NOW + 90 * DAY),
                    -3 * WAD,
                ),
            ],
        },
        market: MarketData {
            now: NOW,
            underlyings: vec![market(2000 * WAD), market(100 * WAD)],
            history: vec![],
        },
        params: RiskParams {
            correlation: vec![WAD, WAD / 2, WAD / 2, WAD],
            ..RiskParams::standard(2)
        },
    }
}

fn greeks_call(i: &Inputs) -> accountGreeksCall {
    let [c, p, m, r, h] = flatten(i);
    accountGreeksCall {
        now: U256::from(i.market.now),
        cash: w(i.portfolio.cash),
        collaterals: ws(&c),
        positions: ws(&p),
        markets: ws(&m),
        params: ws(&r),
        history: ws(&h),
    }
}

// ---- accountGreeks ----

#[test]
fn account_greeks_calldata_matches_alloy_and_round_trips() {
    let i = inputs();
    let data = encode_account_greeks(&i);
    assert_eq!(data, greeks_call(&i).abi_encode());
    assert_eq!(decode_inputs(&data[4..], 0), Ok(i.clone()));
    // Same arguments as accountMargin, another selector.
    assert_eq!(data[4..], encode_account_margin(&i)[4..]);
}

#[test]
fn greeks_output_matches_alloy_and_round_trips() {
    let g = GreeksOutput {
        delta: vec![WAD, -3, i128::MIN],
        gamma: vec![0, 7, i128::MAX],
        vega: vec![1, 2, 3],
    };
    let enc = g.encode();
    let alloy = accountGreeksReturn {
        delta: ws(&g.delta),
        gamma: ws(&g.gamma),
        vega: ws(&g.vega),
    };
    assert_eq!(enc, accountGreeksCall::abi_encode_returns(&alloy));
    assert_eq!(GreeksOutput::decode(&enc), Some(g.clone()));
    assert_eq!(GreeksOutput::decode(&enc[..enc.len() - 1]), None);
    assert_eq!(GreeksOutput::decode(&[]), None);
    let mut bad = enc;
    bad[32 * 4] = 0x7f; // delta[0] no longer fits i128
    assert_eq!(GreeksOutput::decode(&bad), None);
    let empty = GreeksOutput {
        delta: vec![],
        gamma: vec![],
        vega: vec![],
    };
    assert_eq!(GreeksOutput::decode(&empty.encode()), Some(empty));
}

#[test]
fn account_greeks_equal_native_report() {
    let i = inputs();
    let r = account_margin(&i.portfolio, &i.market, &i.params).unwrap();
    let out = GreeksOutput::decode(&dispatch(&encode_account_greeks(&i)).unwrap()).unwrap();
    assert_eq!(out, GreeksOutput::from_report(&r));
    for (k, u) in r.underlyings.iter().enumerate() {
        assert_eq!(
            (out.delta[k], out.gamma[k], out.vega[k]),
            (u.delta, u.gamma, u.vega)
        );
    }
    // Underlying 1 holds only a short call: negative delta, gamma and vega.
    assert!(out.delta[1] < 0 && out.gamma[1] < 0 && out.vega[1] < 0);

    // A lone long call: positive delta, gamma and vega.
    let mut long = i;
    long.portfolio.positions.truncate(1);
    let out = GreeksOutput::decode(&dispatch(&encode_account_greeks(&long)).unwrap()).unwrap();
    assert!(out.delta[0] > 0 && out.gamma[0] > 0 && out.vega[0] > 0);
    assert_eq!((out.delta[1], out.gamma[1], out.vega[1]), (0, 0, 0));
}

#[test]
fn account_greeks_errors_like_account_margin() {
    let c = greeks_call(&inputs());
    let mut x = c.clone();
    x.positions.pop();
    assert_eq!(dispatch(&x.abi_encode()), err(code::POSITIONS_LENGTH, 23));
    let mut x = c.clone();
    x.markets[0] = w(0);
    assert_eq!(dispatch(&x.abi_encode()), err(Field::Spot as u8, 0));
    let mut x = c.clone();
    x.cash = too_big();
    assert_eq!(dispatch(&x.abi_encode()), err(Field::Cash as u8, 0));
    let full = c.abi_encode();
    assert_eq!(dispatch(&full[..4 + 3 * 32]), err(code::CALLDATA, 3));
}

// ---- markPrice ----

fn mark_call(now: u64, m: &[I256], kind: u64, strike: I256, expiry: U256) -> Vec<u8> {
    mark_call_sized(now, m, kind, strike, expiry, w(WAD))
}

fn mark_call_sized(
    now: u64,
    m: &[I256],
    kind: u64,
    strike: I256,
    expiry: U256,
    size: I256,
) -> Vec<u8> {
    markPriceCall {
        now: U256::from(now),
        market: m.to_vec(),
        kind: U256::from(kind),
        strike,
        expiry,
        size,
    }
    .abi_encode()
}

fn market_words(m: &UnderlyingMarket) -> Vec<I256> {
    let s = &m.smile;
    ws(&[
        m.spot,
        m.scan_range,
        m.oracle_confidence,
        s.atm_vol,
        s.skew,
        s.curvature,
        s.min_vol,
        s.max_vol,
    ])
}

/// The mark for a long holder of one unit.
fn mark(
    now: u64,
    m: &UnderlyingMarket,
    kind: u8,
    strike: Wad,
    expiry: u64,
) -> Result<Wad, RiskCalcError> {
    mark_sized(now, m, kind, strike, expiry, WAD)
}

/// The mark for a holder of signed `size`.
fn mark_sized(
    now: u64,
    m: &UnderlyingMarket,
    kind: u8,
    strike: Wad,
    expiry: u64,
    size: Wad,
) -> Result<Wad, RiskCalcError> {
    dispatch(&encode_mark_price(now, m, kind, strike, expiry, size))
        .map(|o| decode_mark_price(&o).unwrap())
}

/// keel-risk natively: Black-76 at the smile vol, t from the seconds left.
fn native(m: &UnderlyingMarket, kind: OptionKind, strike: Wad, seconds: u64) -> Wad {
    let vol = m.smile.implied_vol(m.spot, strike).unwrap();
    black76_price(kind, m.spot, strike, vol, years_from_seconds(seconds)).unwrap()
}

#[test]
fn mark_price_calldata_matches_alloy_and_round_trips() {
    let m = market(2000 * WAD);
    let data = encode_mark_price(NOW, &m, 2, 1800 * WAD, NOW + DAY, -3 * WAD);
    let alloy = mark_call_sized(
        NOW,
        &market_words(&m),
        2,
        w(1800 * WAD),
        U256::from(NOW + DAY),
        w(-3 * WAD),
    );
    assert_eq!(data, alloy);
    assert_eq!(
        decode_mark_price_args(&data[4..]),
        Ok(MarkPriceArgs {
            now: NOW,
            market: m.clone(),
            instrument: option(OptionKind::Put, 1800 * WAD, NOW + DAY),
            size: -3 * WAD,
        })
    );
    // A perp: strike, expiry and size are not read.
    let data = encode_mark_price(NOW, &m, 0, -1, u64::MAX, -WAD);
    assert_eq!(
        decode_mark_price_args(&data[4..]).map(|a| (a.instrument, a.size)),
        Ok((Instrument::Perp, 0))
    );
    // The answer: one int256 word.
    for p in [0, -1, i128::MAX, i128::MIN] {
        assert_eq!(encode_word(p), markPriceCall::abi_encode_returns(&w(p)));
        assert_eq!(decode_mark_price(&encode_word(p)), Some(p));
    }
    assert_eq!(decode_mark_price(&[0; 31]), None);
    assert_eq!(decode_mark_price(&[0x7f; 32]), None);
}

#[test]
fn mark_price_equals_native_keel_risk() {
    let m = market(2000 * WAD);
    assert_eq!(mark(NOW, &m, 0, 0, 0), Ok(2000 * WAD), "perp = spot");
    for (kind, k, strike) in [
        (1, OptionKind::Call, 2100 * WAD),
        (2, OptionKind::Put, 2100 * WAD),
        (1, OptionKind::Call, 1500 * WAD + 3),
        (2, OptionKind::Put, 1500 * WAD + 3),
    ] {
        for seconds in [60, 7 * DAY + 1, 30 * DAY, 730 * DAY] {
            assert_eq!(
                mark(NOW, &m, kind, strike, NOW + seconds),
                Ok(native(&m, k, strike, seconds)),
                "{k:?} {strike} {seconds}"
            );
        }
    }
    // The smile is used: a skewed strike is not priced at the ATM vol.
    let flat = UnderlyingMarket {
        smile: Smile::flat(m.smile.atm_vol),
        ..m
    };
    assert_ne!(
        mark(NOW, &m, 2, 1500 * WAD, NOW + 30 * DAY),
        mark(NOW, &flat, 2, 1500 * WAD, NOW + 30 * DAY)
    );
    // Put-call parity holds exactly (F - K).
    let c = mark(NOW, &m, 1, 1900 * WAD, NOW + 9 * DAY).unwrap();
    let p = mark(NOW, &m, 2, 1900 * WAD, NOW + 9 * DAY).unwrap();
    assert_eq!(c - p, 100 * WAD);
}

#[test]
fn mark_price_of_expired_options_is_intrinsic() {
    let m = market(2000 * WAD);
    for expiry in [NOW, NOW - 1, 0] {
        assert_eq!(mark(NOW, &m, 1, 1900 * WAD, expiry), Ok(100 * WAD));
        assert_eq!(mark(NOW, &m, 2, 1900 * WAD, expiry), Ok(0));
        assert_eq!(mark(NOW, &m, 2, 2150 * WAD, expiry), Ok(150 * WAD));
        assert_eq!(
            mark(NOW, &m, 1, 1900 * WAD, expiry),
            Ok(black76_price(OptionKind::Call, m.spot, 1900 * WAD, WAD, 0).unwrap())
        );
    }
}

#[test]
fn mark_price_values_the_last_minute_at_one_minute() {
    let m = market(2000 * WAD);
    let at60 = mark(NOW, &m, 1, 2000 * WAD, NOW + 60).unwrap();
    assert!(at60 > 0);
    for s in [1, 30, 59] {
        assert_eq!(mark(NOW, &m, 1, 2000 * WAD, NOW + s), Ok(at60), "{s} s");
    }
}

#[test]
fn mark_price_errors() {
    let m = market(2000 * WAD);
    let words = market_words(&m);
    let run = |now, mk: &[I256], kind, strike, expiry| {
        dispatch(&mark_call(now, mk, kind, strike, expiry))
    };
    let (k, e) = (w(2000 * WAD), U256::from(NOW + DAY));
    assert!(run(NOW, &words, 1, k, e).is_ok());
    // Shapes and word types.
    assert_eq!(run(NOW, &words[..7], 1, k, e), err(code::MARKETS_LENGTH, 7));
    let nine = [&words[..], &[w(0)]].concat();
    assert_eq!(run(NOW, &nine, 1, k, e), err(code::MARKETS_LENGTH, 9));
    assert_eq!(run(NOW, &words, 3, k, e), err(code::POSITION_KIND, 0));
    let data = encode_mark_price(NOW, &m, 1, 2000 * WAD, NOW + DAY, WAD);
    let mut bad = data.clone();
    bad[4 + 2 * 32] = 1; // kind >= 2^248
    assert_eq!(dispatch(&bad), err(code::POSITION_KIND, 0));
    let mut bad = data.clone();
    bad[4 + 8] = 1; // now >= 2^64
    assert_eq!(dispatch(&bad), err(code::NOW, 0));
    assert_eq!(
        run(NOW, &words, 1, too_big(), e),
        err(Field::OptionStrike as u8, 0)
    );
    assert_eq!(
        run(NOW, &words, 2, k, U256::from(u64::MAX) + U256::from(1)),
        err(Field::OptionExpiry as u8, 0)
    );
    let sized = |size| dispatch(&mark_call_sized(NOW, &words, 2, k, e, size));
    assert_eq!(sized(too_big()), err(Field::PositionSize as u8, 0));
    assert_eq!(
        sized(w(i128::MIN) - I256::ONE),
        err(Field::PositionSize as u8, 0)
    );
    assert!(sized(w(i128::MIN)).is_ok());
    assert!(
        run(NOW, &words, 0, too_big(), U256::MAX).is_ok(),
        "a perp ignores strike and expiry"
    );
    assert!(
        dispatch(&mark_call_sized(NOW, &words, 0, k, e, too_big())).is_ok(),
        "a perp ignores size"
    );
    for (j, f) in [
        (0, Field::Spot),
        (4, Field::SmileSkew),
        (7, Field::SmileMaxVol),
    ] {
        let mut x = words.clone();
        x[j] = too_big();
        assert_eq!(run(NOW, &x, 0, k, e), err(f as u8, 0), "{f:?}");
    }
    assert_eq!(dispatch(&data[..4 + 4 * 32]), err(code::CALLDATA, 4));
    assert_eq!(dispatch(&data[..4 + 5 * 32]), err(code::CALLDATA, 5));
    assert_eq!(dispatch(&data[..data.len() - 1]), err(code::CALLDATA, 1));
    // Values: the market as account_margin validates it, then the option.
    let bad_spot = UnderlyingMarket { spot: 0, ..m };
    assert_eq!(mark(NOW, &bad_spot, 0, 0, 0), err(Field::Spot as u8, 0));
    let bad_smile = UnderlyingMarket {
        smile: Smile {
            min_vol: m.smile.atm_vol + 1,
            ..m.smile
        },
        ..m
    };
    assert_eq!(
        mark(NOW, &bad_smile, 1, k_wad(), NOW + DAY),
        err(Field::SmileMinVol as u8, 0)
    );
    assert_eq!(
        mark(NOW, &m, 1, 0, NOW + DAY),
        err(Field::OptionStrike as u8, 0)
    );
    assert_eq!(
        mark(NOW, &m, 2, -WAD, NOW + DAY),
        err(Field::OptionStrike as u8, 0)
    );
    assert_eq!(
        mark(NOW, &m, 2, MAX_AMOUNT + 1, NOW + DAY),
        err(Field::OptionStrike as u8, 0)
    );
    let two_years = 2 * SECONDS_PER_YEAR;
    assert!(mark(NOW, &m, 1, k_wad(), NOW + two_years).is_ok());
    assert_eq!(
        mark(NOW, &m, 1, k_wad(), NOW + two_years + 1),
        err(Field::OptionExpiry as u8, 0)
    );
    // Expired options are intrinsic at any strike.
    assert_eq!(mark(NOW, &m, 2, 20_000 * WAD, NOW), Ok(18_000 * WAD));
    // A strike so far below spot that the skewed smile's ln(K/F) is
    // undefined: Domain, as in margin.
    assert_eq!(mark(NOW, &m, 2, 1, NOW + DAY), math(2));
    assert!(price_series(
        &[Position {
            underlying: 0,
            instrument: option(OptionKind::Put, 1, NOW + DAY),
            size: WAD,
            entry_price: 0,
        }],
        0,
        m.spot,
        &m.smile,
        NOW,
        &RiskParams::standard(1),
    )
    .is_err());
}

/// keel-risk's bounded valuation (what margin uses) for a holder of `size`.
fn bounded(m: &UnderlyingMarket, kind: OptionKind, strike: Wad, seconds: u64, size: Wad) -> Wad {
    let vol = m.smile.implied_vol(m.spot, strike).unwrap();
    let bias = if size < 0 {
        Rounding::Up
    } else {
        Rounding::Down
    };
    scenario::option_value(kind, m.spot, strike, vol, seconds as i128, bias).unwrap()
}

/// The value per unit margin gives a position of `size` (keel-risk's
/// `price_series`, the valuation of `account_margin`).
fn margin_value(
    m: &UnderlyingMarket,
    kind: OptionKind,
    strike: Wad,
    expiry: u64,
    size: Wad,
) -> Wad {
    let p = Position {
        underlying: 0,
        instrument: option(kind, strike, expiry),
        size,
        entry_price: 0,
    };
    price_series(&[p], 0, m.spot, &m.smile, NOW, &RiskParams::standard(1)).unwrap()[0].value
}

#[test]
fn mark_price_is_the_value_margin_gives_the_holder() {
    let m = market(550 * WAD);
    for (kind, k) in [(1, OptionKind::Call), (2, OptionKind::Put)] {
        for strike in [
            50 * WAD,
            110 * WAD - 1,
            550 * WAD,
            2_750 * WAD + 1,
            3_000 * WAD,
        ] {
            for seconds in [0, 59, 7 * DAY, 730 * DAY] {
                for size in [3 * WAD, -WAD / 7] {
                    let e = NOW + seconds;
                    assert_eq!(
                        mark_sized(NOW, &m, kind, strike, e, size),
                        Ok(margin_value(&m, k, strike, e, size)),
                        "{k:?} {strike} {seconds} {size}"
                    );
                }
            }
        }
    }
}

#[test]
fn mark_price_outside_black76_domain_is_margins_bounded_value() {
    // The finding: spot 550, a put struck at 3,000 (K/F = 5.45): margin values
    // it, so the mark must too (it reverted with RiskMathError(2)).
    let m = market(550 * WAD);
    for (kind, k, strike) in [
        (2, OptionKind::Put, 3_000 * WAD),
        (1, OptionKind::Call, 3_000 * WAD),
        (2, OptionKind::Put, 5 * 550 * WAD + 1),
        (1, OptionKind::Call, 100 * WAD),
        (2, OptionKind::Put, 100 * WAD),
        (1, OptionKind::Call, 110 * WAD - 1),
    ] {
        for seconds in [1, 60, 30 * DAY, 730 * DAY] {
            let long = mark_sized(NOW, &m, kind, strike, NOW + seconds, WAD).unwrap();
            let short = mark_sized(NOW, &m, kind, strike, NOW + seconds, -WAD).unwrap();
            assert_eq!(long, bounded(&m, k, strike, seconds, WAD), "{k:?} {strike}");
            assert_eq!(
                short,
                bounded(&m, k, strike, seconds, -WAD),
                "{k:?} {strike}"
            );
            // Flat (size 0) takes the long holder's bound; only the sign matters.
            assert_eq!(
                mark_sized(NOW, &m, kind, strike, NOW + seconds, 0),
                Ok(long)
            );
            assert_eq!(
                mark_sized(NOW, &m, kind, strike, NOW + seconds, i128::MIN),
                Ok(short)
            );
            // The short's bound is the upper one (strictly, given time), both
            // at least intrinsic.
            let intr = intrinsic_of(k, m.spot, strike);
            assert!(short >= long && long >= intr, "{k:?} {strike} {seconds}");
            if seconds == 730 * DAY {
                assert!(short > long, "{k:?} {strike}");
            }
        }
    }
    // The finding's numbers: the put is worth at least its intrinsic 2,450.
    let put = mark_sized(NOW, &m, 2, 3_000 * WAD, NOW + 30 * DAY, -WAD).unwrap();
    assert!(put >= 2_450 * WAD);
    assert_eq!(
        mark_sized(NOW, &m, 2, 3_000 * WAD, NOW + 30 * DAY, WAD),
        Ok(2_450 * WAD)
    );
    // Expired: intrinsic whatever the holder.
    for size in [WAD, -WAD] {
        assert_eq!(
            mark_sized(NOW, &m, 2, 3_000 * WAD, NOW, size),
            Ok(2_450 * WAD)
        );
    }
}

fn intrinsic_of(kind: OptionKind, spot: Wad, strike: Wad) -> Wad {
    match kind {
        OptionKind::Call => (spot - strike).max(0),
        OptionKind::Put => (strike - spot).max(0),
    }
}

#[test]
fn mark_price_inside_the_domain_ignores_the_holder() {
    let m = market(2000 * WAD);
    for (kind, k, strike) in [
        (1, OptionKind::Call, 400 * WAD),
        (2, OptionKind::Put, 10_000 * WAD),
        (2, OptionKind::Put, 2100 * WAD),
    ] {
        for seconds in [30, 9 * DAY] {
            let want = native(&m, k, strike, seconds.max(60));
            for size in [WAD, 0, -WAD] {
                assert_eq!(
                    mark_sized(NOW, &m, kind, strike, NOW + seconds, size),
                    Ok(want)
                );
            }
        }
    }
}

fn k_wad() -> Wad {
    2000 * WAD
}

// ---- ewmaUpdate ----

/// 0.94 per day, k = 3, 1-day horizon, R in [5%, 50%], fall 10%/day, APC 25%.
fn ewma_params() -> EwmaParams {
    EwmaParams {
        lambda: WAD / 100 * 94,
        lambda_interval_seconds: DAY,
        k: 3 * WAD,
        horizon_seconds: DAY,
        range_min: WAD / 20,
        range_max: WAD / 2,
        max_fall_per_day: WAD / 10,
        apc_floor_share: WAD / 4,
    }
}

const NO_STATE: EwmaState = EwmaState {
    variance_per_second: 0,
    last_price: 0,
    last_update: 0,
    scan_range: 0,
    peak_range: 0,
};

fn ewma(
    now: u64,
    price: Wad,
    vol: Wad,
    p: &EwmaParams,
    s: &EwmaState,
) -> Result<EwmaState, RiskCalcError> {
    dispatch(&encode_ewma_update(now, price, vol, p, s)).map(|o| decode_ewma_state(&o).unwrap())
}

fn ewma_words(p: &EwmaParams) -> Vec<I256> {
    ws(&[
        p.lambda,
        p.lambda_interval_seconds as i128,
        p.k,
        p.horizon_seconds as i128,
        p.range_min,
        p.range_max,
        p.max_fall_per_day,
        p.apc_floor_share,
    ])
}

fn state_words(s: &EwmaState) -> Vec<I256> {
    ws(&[
        s.variance_per_second,
        s.last_price,
        s.last_update as i128,
        s.scan_range,
        s.peak_range,
    ])
}

fn ewma_call(now: u64, price: I256, vol: I256, p: Vec<I256>, s: Vec<I256>) -> Vec<u8> {
    ewmaUpdateCall {
        now: U256::from(now),
        price,
        initialVol: vol,
        params: p,
        state: s,
    }
    .abi_encode()
}

#[test]
fn ewma_update_calldata_matches_alloy_and_round_trips() {
    let p = ewma_params();
    let s = EwmaState::new(2000 * WAD, NOW, WAD / 10 * 8, &p).unwrap();
    let data = encode_ewma_update(NOW + 60, 2010 * WAD, WAD / 2, &p, &s);
    let alloy = ewma_call(
        NOW + 60,
        w(2010 * WAD),
        w(WAD / 2),
        ewma_words(&p),
        state_words(&s),
    );
    assert_eq!(data, alloy);
    let a = decode_ewma_update_args(&data[4..]).unwrap();
    assert_eq!(
        (a.now, a.price, a.initial_vol, a.params, a.state),
        (NOW + 60, 2010 * WAD, WAD / 2, p, s)
    );
    // The answer: int256[5].
    let enc = encode_ewma_state(&s);
    assert_eq!(enc, ewmaUpdateCall::abi_encode_returns(&state_words(&s)));
    assert_eq!(decode_ewma_state(&enc), Some(s));
    assert_eq!(decode_ewma_state(&enc[..enc.len() - 1]), None);
    let mut x = state_words(&s);
    x.pop();
    assert_eq!(
        decode_ewma_state(&ewmaUpdateCall::abi_encode_returns(&x)),
        None
    );
    let mut x = state_words(&s);
    x[2] = I256::MINUS_ONE; // lastUpdate < 0
    assert_eq!(
        decode_ewma_state(&ewmaUpdateCall::abi_encode_returns(&x)),
        None
    );
    let mut x = state_words(&s);
    x[0] = too_big();
    assert_eq!(
        decode_ewma_state(&ewmaUpdateCall::abi_encode_returns(&x)),
        None
    );
}

#[test]
fn ewma_update_equals_native_keel_risk() {
    let p = ewma_params();
    // First update: lastUpdate == 0 means no state yet.
    let first = ewma(NOW, 2000 * WAD, WAD / 10 * 8, &p, &NO_STATE).unwrap();
    assert_eq!(
        first,
        EwmaState::new(2000 * WAD, NOW, WAD / 10 * 8, &p).unwrap()
    );
    assert_eq!((first.last_price, first.last_update), (2000 * WAD, NOW));
    // The other state words are ignored for a first update.
    let junk = EwmaState {
        last_update: 0,
        ..first
    };
    assert_eq!(ewma(NOW, 2000 * WAD, WAD / 10 * 8, &p, &junk), Ok(first));
    // Subsequent updates: EwmaState::update, bit for bit, along a price path
    // (a crash raises R at once; calm lets it fall at most 10% a day).
    let mut native = first;
    let mut onchain = first;
    let path = [
        (60, 2001),
        (3600, 1990),
        (DAY, 1500),
        (DAY, 1510),
        (7 * DAY, 1520),
    ];
    let mut t = NOW;
    for (dt, price) in path {
        t += dt;
        native = native.update(price * WAD, t, &p).unwrap();
        onchain = ewma(t, price * WAD, 0, &p, &onchain).unwrap();
        assert_eq!(onchain, native, "t = {t}");
        assert_eq!((onchain.last_price, onchain.last_update), (price * WAD, t));
    }
    assert!(onchain.peak_range > first.scan_range);
}

#[test]
fn ewma_update_errors() {
    let p = ewma_params();
    let s = EwmaState::new(2000 * WAD, NOW, WAD / 2, &p).unwrap();
    let run = |now, price: Wad, pw: Vec<I256>, sw: Vec<I256>| {
        dispatch(&ewma_call(now, w(price), w(WAD / 2), pw, sw))
    };
    let (pw, sw) = (ewma_words(&p), state_words(&s));
    assert!(run(NOW + 1, WAD, pw.clone(), sw.clone()).is_ok());
    // Shapes.
    assert_eq!(
        run(NOW + 1, WAD, pw[..7].to_vec(), sw.clone()),
        err(code::EWMA_PARAMS_LENGTH, 7)
    );
    assert_eq!(
        run(NOW + 1, WAD, [&pw[..], &pw[..1]].concat(), sw.clone()),
        err(code::EWMA_PARAMS_LENGTH, 9)
    );
    assert_eq!(
        run(NOW + 1, WAD, pw.clone(), sw[..4].to_vec()),
        err(code::EWMA_STATE_LENGTH, 4)
    );
    assert_eq!(
        run(NOW + 1, WAD, pw.clone(), vec![]),
        err(code::EWMA_STATE_LENGTH, 0)
    );
    let data = encode_ewma_update(NOW + 1, WAD, WAD, &p, &s);
    assert_eq!(dispatch(&data[..4 + 2 * 32]), err(code::CALLDATA, 2));
    assert_eq!(dispatch(&data[..data.len() - 32]), err(code::CALLDATA, 4));
    // Word types.
    for (j, f, index) in [
        (0, Field::EwmaLambda as u8, 0),
        (1, Field::EwmaInterval as u8, 0),
        (3, Field::EwmaHorizon as u8, 0),
        (5, Field::EwmaRangeBounds as u8, 1),
        (7, Field::EwmaApcShare as u8, 0),
    ] {
        let mut x = pw.clone();
        x[j] = if j % 2 == 1 {
            I256::MINUS_ONE
        } else {
            too_big()
        };
        assert_eq!(run(NOW + 1, WAD, x, sw.clone()), err(f, index), "param {j}");
    }
    for (j, f, index) in [
        (0, Field::EwmaVariance as u8, 0),
        (1, Field::OraclePrice as u8, 1),
        (2, code::NOW, 1),
        (3, Field::ScanRange as u8, 0),
        (4, Field::ScanRange as u8, 1),
    ] {
        let mut x = sw.clone();
        x[j] = if j == 2 { I256::MINUS_ONE } else { too_big() };
        assert_eq!(run(NOW + 1, WAD, pw.clone(), x), err(f, index), "state {j}");
    }
    let bad_price = ewma_call(NOW + 1, too_big(), w(0), pw.clone(), sw.clone());
    assert_eq!(dispatch(&bad_price), err(Field::OraclePrice as u8, 0));
    let bad_vol = ewma_call(NOW + 1, w(WAD), too_big(), pw.clone(), sw.clone());
    assert_eq!(dispatch(&bad_vol), err(Field::EwmaVariance as u8, 0));
    let mut bad_now = data.clone();
    bad_now[4] = 1;
    assert_eq!(dispatch(&bad_now), err(code::NOW, 0));
    // Values, as keel-risk validates them.
    let q = |f: fn(&mut EwmaParams)| {
        let mut q = ewma_params();
        f(&mut q);
        q
    };
    assert_eq!(
        ewma(NOW + 1, WAD, 0, &q(|q| q.lambda = WAD), &s),
        err(Field::EwmaLambda as u8, 0)
    );
    assert_eq!(
        ewma(
            NOW,
            WAD,
            WAD / 2,
            &q(|q| q.range_max = q.range_min - 1),
            &NO_STATE
        ),
        err(Field::EwmaRangeBounds as u8, 1)
    );
    assert_eq!(
        ewma(NOW + 1, WAD, 0, &q(|q| q.horizon_seconds = 59), &s),
        err(Field::EwmaHorizon as u8, 0)
    );
    assert_eq!(
        ewma(NOW + 1, 0, 0, &p, &s),
        err(Field::OraclePrice as u8, 0)
    );
    assert_eq!(
        ewma(NOW, 0, WAD / 2, &p, &NO_STATE),
        err(Field::OraclePrice as u8, 0)
    );
    assert_eq!(
        ewma(NOW, WAD, 10 * WAD + 1, &p, &NO_STATE),
        err(Field::EwmaVariance as u8, 0)
    );
    let zero_last = EwmaState { last_price: 0, ..s };
    assert_eq!(
        ewma(NOW + 1, WAD, 0, &p, &zero_last),
        err(Field::OraclePrice as u8, 1)
    );
    let neg_var = EwmaState {
        variance_per_second: -1,
        ..s
    };
    assert_eq!(
        ewma(NOW + 1, WAD, 0, &p, &neg_var),
        err(Field::EwmaVariance as u8, 0)
    );
    // Time must advance.
    assert_eq!(
        ewma(NOW, WAD, 0, &p, &s),
        err(code::NON_MONOTONIC_TIME, NOW)
    );
    assert_eq!(
        ewma(NOW - 5, WAD, 0, &p, &s),
        err(code::NON_MONOTONIC_TIME, NOW)
    );
}

#[test]
fn unknown_selectors_are_typed_errors() {
    for sel in [[0, 0, 0, 0], [0xff; 4], [0x12, 0x34, 0x56, 0x78]] {
        let data = [&sel[..], &[0; 64]].concat();
        assert_eq!(
            dispatch(&data),
            err(code::CALLDATA, u32::from_be_bytes(sel) as u64)
        );
    }
}
