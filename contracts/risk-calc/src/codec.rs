//! Word layout of the calculator's ABI: decoding calldata into keel-risk's
//! types ([`Portfolio`], [`MarketData`], [`RiskParams`], [`UnderlyingMarket`],
//! [`EwmaParams`], [`EwmaState`]), encoding the results, the mapping of
//! [`RiskError`] to the program's Solidity errors, and for Rust callers (the
//! engine) the calldata encoders and answer decoders.
//!
//! Every array element is one ABI word. Amounts, prices and fractions are WAD
//! (`int256` that must fit `i128`, keel-risk's [`Wad`]); counts, kinds and
//! seconds are non-negative integers (`uint256` that must fit `u64`).
//!
//! `accountMargin`, `scenarioPnl` and `accountGreeks` take the same arrays:
//! - `collaterals`: [`COLLATERAL_WORDS`] per entry: amount, price, imHaircut, mmHaircut.
//! - `positions`: [`POSITION_WORDS`] per entry: underlying, kind (0 perp, 1 call,
//!   2 put), size, entryPrice, strike, expiry. Perps ignore strike and expiry.
//! - `markets`: [`MARKET_WORDS`] per underlying: spot, scanRange,
//!   oracleConfidence, atmVol, skew, curvature, minVol, maxVol.
//! - `params`: a head of [`PARAMS_HEAD`] words: gridK, volDown, volUp,
//!   volUpPower, extremeCover, timeRollSeconds, mmMode (0 fraction of IM,
//!   1 reduced grid), mmFraction, maxOffsetCredit, shortOptionMin, esEnabled
//!   (0/1), esConfidence, esMinSamples, esMultiplier, nExtreme, nTiers; then
//!   nExtreme extreme moves, nTiers (threshold, multiplier) pairs, and the rest
//!   is the n x n row-major correlation matrix.
//! - `history`: the ES return history, row-major (epochs x underlyings).
//!
//! `markPrice(now, market, kind, strike, expiry, size)`: `market` is exactly
//! one underlying's [`MARKET_WORDS`] words (layout of `markets`); kind as in
//! `positions`; `size` is the holder's signed position (WAD), of which only
//! the sign is used (a perp ignores strike, expiry and size).
//!
//! `ewmaUpdate(now, price, initialVol, params, state)`:
//! - `params`: exactly [`EWMA_PARAMS_WORDS`] words, the [`EwmaParams`] fields:
//!   lambda, lambdaIntervalSeconds, k, horizonSeconds, rangeMin, rangeMax,
//!   maxFallPerDay, apcFloorShare;
//! - `state` (and the returned `newState`): exactly [`EWMA_STATE_WORDS`] words,
//!   the [`EwmaState`] fields: variancePerSecond, lastPrice, lastUpdate,
//!   scanRange, peakRange.
//!
//! Errors: `RiskInvalidInput(field, index)` where `field` is a keel-risk
//! [`Field`] code (0..63; `index` = element, or the list length for "too
//! many") or one of [`code`]; `RiskMathError(kind)`. A word that does not fit
//! its type (i128 or u64) is reported with the field keel-risk would name for
//! an out-of-range value; where that is not obvious the decoder says which.
//! Decoding never panics and never allocates more than the calldata's size implies.

use alloc::vec::Vec;

use alloy_sol_types::SolCall;

use keel_risk::{
    Collateral, ConcentrationTier, EwmaParams, EwmaState, Field, Instrument, MaintenanceMode,
    MarginReport, MarketData, MathError, OptionKind, Portfolio, Position, RiskError, RiskParams,
    Smile, UnderlyingMarket, Wad,
};

use crate::{invalid, RiskCalcError};

/// Words per collateral entry.
pub const COLLATERAL_WORDS: usize = 4;
/// Words per position entry.
pub const POSITION_WORDS: usize = 6;
/// Words per underlying's market data.
pub const MARKET_WORDS: usize = 8;
/// Fixed head of the params array.
pub const PARAMS_HEAD: usize = 16;
/// Words of `ewmaUpdate`'s params.
pub const EWMA_PARAMS_WORDS: usize = 8;
/// Words of an EWMA state.
pub const EWMA_STATE_WORDS: usize = 5;

/// Calculator-specific `field` codes of `RiskInvalidInput` (keel-risk's
/// [`Field`] codes stay below 64). Codes are stable: new ones are appended.
pub mod code {
    /// Malformed calldata: too short, an offset or length out of range, or an
    /// unknown selector (`index` = argument number, or the selector).
    pub const CALLDATA: u8 = 64;
    /// `collaterals.length` (= `index`) is not a multiple of 4.
    pub const COLLATERALS_LENGTH: u8 = 65;
    /// `positions.length` (= `index`) is not a multiple of 6.
    pub const POSITIONS_LENGTH: u8 = 66;
    /// `markets.length` (= `index`) is not a multiple of 8 (`markPrice`: is not 8).
    pub const MARKETS_LENGTH: u8 = 67;
    /// `params.length` (= `index`) is shorter than its head and the counts it declares.
    pub const PARAMS_LENGTH: u8 = 68;
    /// `now` does not fit 64 bits (`index` 0), or `ewmaUpdate`'s
    /// `state.lastUpdate` does not (`index` 1).
    pub const NOW: u8 = 69;
    /// Position `index` names an underlying that does not exist (or does not fit 32 bits).
    pub const POSITION_UNDERLYING: u8 = 70;
    /// Position `index` (`markPrice`: 0) has a kind other than 0 (perp), 1 (call), 2 (put).
    pub const POSITION_KIND: u8 = 71;
    /// `mmMode` is neither 0 nor 1.
    pub const MM_MODE: u8 = 72;
    /// `esEnabled` is neither 0 nor 1.
    pub const ES_ENABLED: u8 = 73;
    /// The correlation matrix has `index` entries, not n x n.
    pub const CORRELATION_SHAPE: u8 = 74;
    /// The history has `index` entries, not a multiple of the underlyings.
    pub const HISTORY_SHAPE: u8 = 75;
    /// ES is enabled with only `index` epochs of history (fewer than esMinSamples).
    pub const INSUFFICIENT_HISTORY: u8 = 76;
    /// `scenarioPnl`'s underlying (= `index`) does not exist.
    pub const SCENARIO_UNDERLYING: u8 = 77;
    /// Correlation entry `index` (row-major) differs from its transpose.
    pub const CORRELATION_SYMMETRY: u8 = 78;
    /// `ewmaUpdate` with `now` not after `state.lastUpdate` (= `index`).
    pub const NON_MONOTONIC_TIME: u8 = 79;
    /// `ewmaUpdate`'s `params.length` (= `index`) is not 8.
    pub const EWMA_PARAMS_LENGTH: u8 = 80;
    /// `ewmaUpdate`'s `state.length` (= `index`) is not 5.
    pub const EWMA_STATE_LENGTH: u8 = 81;
}

/// The three inputs of [`keel_risk::account_margin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Collateral, settlement cash and positions.
    pub portfolio: Portfolio,
    /// `now`, per-underlying market data, ES history.
    pub market: MarketData,
    /// Risk parameters.
    pub params: RiskParams,
}

/// Maps a keel-risk error (or a bare [`MathError`]) to the program's Solidity error.
pub fn risk_error(e: impl Into<RiskError>) -> RiskCalcError {
    let (field, index) = match e.into() {
        RiskError::Math(m) => {
            return RiskCalcError::math(match m {
                MathError::Overflow => 0,
                MathError::DivisionByZero => 1,
                MathError::Domain => 2,
            })
        }
        RiskError::OutOfRange { field, index, .. } | RiskError::NotIncreasing { field, index } => {
            (field as u8, index as u64)
        }
        RiskError::TooMany { field, len, .. } => (field as u8, len as u64),
        RiskError::CorrelationShape { len, .. } => (code::CORRELATION_SHAPE, len as u64),
        RiskError::CorrelationNotSymmetric { row, col } => {
            // Row-major index; the side is at most 16, so this cannot overflow.
            (
                code::CORRELATION_SYMMETRY,
                row.saturating_mul(16).saturating_add(col) as u64,
            )
        }
        RiskError::CorrelationDiagonal { index, .. } => (Field::Correlation as u8, index as u64),
        RiskError::UnknownUnderlying { position, .. } => {
            (code::POSITION_UNDERLYING, position as u64)
        }
        RiskError::HistoryShape { len, .. } => (code::HISTORY_SHAPE, len as u64),
        RiskError::InsufficientHistory { have, .. } => (code::INSUFFICIENT_HISTORY, have as u64),
        RiskError::NonMonotonicTime { last, .. } => (code::NON_MONOTONIC_TIME, last),
    };
    invalid(field, index)
}

/// The 32-byte word at byte offset `at` of `data`.
fn word_at(data: &[u8], at: usize) -> Option<&[u8; 32]> {
    data.get(at..at.checked_add(32)?)?.try_into().ok()
}

/// A word as a `u64` (None if it does not fit).
fn word_u64(w: &[u8; 32]) -> Option<u64> {
    let v = u64::from_be_bytes(w[24..].try_into().ok()?);
    w[..24].iter().all(|b| *b == 0).then_some(v)
}

/// A word as a two's-complement `int256` that fits `i128` (None otherwise).
fn word_i128(w: &[u8; 32]) -> Option<i128> {
    let v = i128::from_be_bytes(w[16..].try_into().ok()?);
    let ext = if v < 0 { 0xff } else { 0 };
    w[..16].iter().all(|x| *x == ext).then_some(v)
}

/// Head word `i` of the arguments as a `u64`; `field` (index 0) names it in
/// the error, a missing word is `CALLDATA` (index `i`).
pub fn head_u64(args: &[u8], i: usize, field: u8) -> Result<u64, RiskCalcError> {
    let w = word_at(args, i * 32).ok_or(invalid(code::CALLDATA, i as u64))?;
    word_u64(w).ok_or(invalid(field, 0))
}

/// A run of ABI words: a dynamic `int256[]` argument's elements, or the head
/// words of the arguments.
#[derive(Clone, Copy)]
struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    /// Reads the array whose offset is head word `i` (offsets are relative to `args`).
    fn arg(args: &'a [u8], i: usize) -> Result<Self, RiskCalcError> {
        let err = invalid(code::CALLDATA, i as u64);
        // usize::try_from, not `as`: on wasm32 an offset >= 2^32 must not wrap.
        let at = |o: usize| {
            word_at(args, o)
                .and_then(word_u64)
                .and_then(|v| v.try_into().ok())
        };
        let off = at(i * 32).ok_or(err)?;
        let len = at(off).ok_or(err)?;
        let start = off.checked_add(32).ok_or(err)?;
        let end = len
            .checked_mul(32)
            .and_then(|n| n.checked_add(start))
            .ok_or(err)?;
        Ok(Words(args.get(start..end).ok_or(err)?))
    }

    fn len(&self) -> usize {
        self.0.len() / 32
    }

    fn word(&self, i: usize) -> &'a [u8; 32] {
        // In range by construction of every caller (i < len).
        word_at(self.0, i * 32).unwrap_or(&[0; 32])
    }

    /// The first `n` head words of `args`; `CALLDATA` (index = the first
    /// missing word) if the calldata is shorter.
    fn head(args: &'a [u8], n: usize) -> Result<Self, RiskCalcError> {
        match args.get(..n * 32) {
            Some(h) => Ok(Words(h)),
            None => Err(invalid(code::CALLDATA, (args.len() / 32) as u64)),
        }
    }

    /// Checks words `at..at + spec.len()` against `spec`: a word that does
    /// not fit its type, or a flag other than 0/1, is
    /// `RiskInvalidInput(field, index + offset)`. One loop for every record
    /// type keeps the decoder small.
    fn check(&self, at: usize, spec: &[Spec], index: usize) -> Result<(), RiskCalcError> {
        for (k, &(field, ty, off)) in spec.iter().enumerate() {
            let w = self.word(at + k);
            let ok = match ty {
                Ty::Wad => word_i128(w).is_some(),
                Ty::U64 => word_u64(w).is_some(),
                Ty::U32 => word_u64(w).is_some_and(|v| v <= u32::MAX as u64),
                Ty::Flag => word_u64(w).is_some_and(|v| v <= 1),
            };
            if !ok {
                return Err(invalid(field, (index + off as usize) as u64));
            }
        }
        Ok(())
    }

    /// Checks `n` WAD elements from `at`; element k's error is `(field, k)`.
    fn check_list(&self, at: usize, n: usize, field: Field) -> Result<(), RiskCalcError> {
        (0..n).try_for_each(|k| self.check(at + k, &[(field as u8, Ty::Wad, 0)], k))
    }

    /// Element `i` (already checked: a WAD, u64, u32 or flag all fit i128).
    fn get(&self, i: usize) -> i128 {
        word_i128(self.word(i)).unwrap_or(0)
    }

    /// Elements `at..at + out.len()` into `out` (already checked).
    fn fill(&self, at: usize, out: &mut [i128]) {
        for (k, o) in out.iter_mut().enumerate() {
            *o = self.get(at + k);
        }
    }

    /// Elements `at..at + n` (already checked).
    fn list(&self, at: usize, n: usize) -> Vec<Wad> {
        (at..at + n).map(|i| self.get(i)).collect()
    }

    /// Number of `n`-word records; errors with `field` (index = length) if ragged.
    fn records(&self, n: usize, field: u8) -> Result<usize, RiskCalcError> {
        if !self.len().is_multiple_of(n) {
            return Err(invalid(field, self.len() as u64));
        }
        Ok(self.len() / n)
    }

    /// The array itself if it has exactly `n` words; else `field` (index = length).
    fn exactly(self, n: usize, field: u8) -> Result<Self, RiskCalcError> {
        if self.len() != n {
            return Err(invalid(field, self.len() as u64));
        }
        Ok(self)
    }
}

/// Appends `v` as a sign-extended `int256` word.
fn push_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&[if v < 0 { 0xff } else { 0 }; 16]);
    out.extend_from_slice(&v.to_be_bytes());
}

/// One top-level value of an ABI tuple: a static word (`int256`, or a `uint256`
/// given as a non-negative value) or an `int256[]`.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Word(i128),
    Array(&'a [Wad]),
}

/// Standard ABI encoding of a tuple: the head (words and array offsets), then
/// each array's length and elements.
fn encode_tuple(args: &[Arg]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut tail = Vec::new();
    for a in args {
        match a {
            Arg::Word(v) => push_i128(&mut out, *v),
            Arg::Array(v) => {
                push_i128(&mut out, (32 * args.len() + tail.len()) as i128);
                push_i128(&mut tail, v.len() as i128);
                for x in *v {
                    push_i128(&mut tail, *x);
                }
            }
        }
    }
    out.extend_from_slice(&tail);
    out
}

/// Calldata: `selector` followed by the tuple `args`.
fn call_data(selector: [u8; 4], args: &[Arg]) -> Vec<u8> {
    let mut out = Vec::from(selector);
    out.extend_from_slice(&encode_tuple(args));
    out
}

/// Array `i` of an ABI-encoded tuple as WADs (None if malformed or a word does not fit i128).
fn wads(data: &[u8], i: usize) -> Option<Vec<Wad>> {
    let a = Words::arg(data, i).ok()?;
    (0..a.len()).map(|k| word_i128(a.word(k))).collect()
}

/// ABI encoding of `(int256)`: one word.
pub fn encode_word(v: Wad) -> Vec<u8> {
    encode_tuple(&[Arg::Word(v)])
}

/// ABI encoding of `(int256[])`: one offset word, the length, the elements.
pub fn encode_words(v: &[Wad]) -> Vec<u8> {
    encode_tuple(&[Arg::Array(v)])
}

/// One figure of every underlying of a report (a fn pointer, not a generic
/// closure: one copy of the loop in the WASM).
fn column(r: &MarginReport, f: fn(&keel_risk::UnderlyingReport) -> Wad) -> Vec<Wad> {
    r.underlyings.iter().map(f).collect()
}

/// What `accountMargin` returns (all WAD except `worst_index`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginOutput {
    /// Equity with IM haircuts.
    pub equity_im: Wad,
    /// Equity with MM haircuts.
    pub equity_mm: Wad,
    /// Initial margin.
    pub im: Wad,
    /// Maintenance margin.
    pub mm: Wad,
    /// equity_mm - mm (negative: liquidatable).
    pub health: Wad,
    /// Per underlying: worst scenario loss of the IM pass (>= 0).
    pub scan_loss: Vec<Wad>,
    /// Per underlying: index of the worst scenario (keel-risk's scenario order).
    pub worst_index: Vec<u32>,
}

impl MarginOutput {
    /// The figures of a keel-risk report.
    pub fn from_report(r: &MarginReport) -> Self {
        MarginOutput {
            equity_im: r.equity_im,
            equity_mm: r.equity_mm,
            im: r.im,
            mm: r.mm,
            health: r.health,
            scan_loss: column(r, |u| u.scan_loss),
            worst_index: r.underlyings.iter().map(|u| u.worst_index).collect(),
        }
    }

    /// ABI encoding of the return tuple
    /// `(int256,int256,int256,int256,int256,int256[],uint256[])`.
    pub fn encode(&self) -> Vec<u8> {
        let worst: Vec<Wad> = self.worst_index.iter().map(|v| *v as i128).collect();
        encode_tuple(&[
            Arg::Word(self.equity_im),
            Arg::Word(self.equity_mm),
            Arg::Word(self.im),
            Arg::Word(self.mm),
            Arg::Word(self.health),
            Arg::Array(&self.scan_loss),
            Arg::Array(&worst),
        ])
    }

    /// Decodes [`Self::encode`]'s output (what a caller of the program does);
    /// `None` when `data` is not such an encoding.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let head = |i: usize| word_at(data, i * 32).and_then(word_i128);
        Some(MarginOutput {
            equity_im: head(0)?,
            equity_mm: head(1)?,
            im: head(2)?,
            mm: head(3)?,
            health: head(4)?,
            scan_loss: wads(data, 5)?,
            worst_index: wads(data, 6)?
                .into_iter()
                .map(|v| u32::try_from(v).ok())
                .collect::<Option<_>>()?,
        })
    }
}

/// What `accountGreeks` returns: per underlying of the margin report (market
/// order), the net greeks of its positions at the current market (WAD, as
/// keel-risk sums them: each series' per-unit greek x size, rounded down).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreeksOutput {
    /// Net delta, in underlying units.
    pub delta: Vec<Wad>,
    /// Net gamma: d(delta)/d(spot), underlying units per settlement unit.
    pub gamma: Vec<Wad>,
    /// Net vega: value change per 1.00 (100 vol points) change of vol.
    pub vega: Vec<Wad>,
}

impl GreeksOutput {
    /// The greeks of a keel-risk report.
    pub fn from_report(r: &MarginReport) -> Self {
        GreeksOutput {
            delta: column(r, |u| u.delta),
            gamma: column(r, |u| u.gamma),
            vega: column(r, |u| u.vega),
        }
    }

    /// ABI encoding of the return tuple `(int256[],int256[],int256[])`.
    pub fn encode(&self) -> Vec<u8> {
        encode_tuple(&[
            Arg::Array(&self.delta),
            Arg::Array(&self.gamma),
            Arg::Array(&self.vega),
        ])
    }

    /// Decodes [`Self::encode`]'s output; `None` when `data` is not such an encoding.
    pub fn decode(data: &[u8]) -> Option<Self> {
        Some(GreeksOutput {
            delta: wads(data, 0)?,
            gamma: wads(data, 1)?,
            vega: wads(data, 2)?,
        })
    }
}

/// The words of one underlying's market, in `markets` order.
fn market_words(u: &UnderlyingMarket) -> [Wad; MARKET_WORDS] {
    [
        u.spot,
        u.scan_range,
        u.oracle_confidence,
        u.smile.atm_vol,
        u.smile.skew,
        u.smile.curvature,
        u.smile.min_vol,
        u.smile.max_vol,
    ]
}

/// The flat arrays of [`decode_inputs`]'s layout for `inputs`, in argument
/// order: collaterals, positions, markets, params, history.
pub fn flatten(inputs: &Inputs) -> [Vec<Wad>; 5] {
    let p = &inputs.portfolio;
    let col = p
        .collaterals
        .iter()
        .flat_map(|c| [c.amount, c.price, c.im_haircut, c.mm_haircut])
        .collect();
    let pos = p
        .positions
        .iter()
        .flat_map(|x| {
            let (kind, strike, expiry) = match x.instrument {
                Instrument::Perp => (0, 0, 0),
                Instrument::Option {
                    kind,
                    strike,
                    expiry,
                } => (
                    if kind == OptionKind::Call { 1 } else { 2 },
                    strike,
                    expiry as i128,
                ),
            };
            [
                x.underlying as i128,
                kind,
                x.size,
                x.entry_price,
                strike,
                expiry,
            ]
        })
        .collect();
    let mkt = inputs
        .market
        .underlyings
        .iter()
        .flat_map(market_words)
        .collect();
    let r = &inputs.params;
    let mut par: Vec<Wad> = alloc::vec![
        r.grid_k as i128,
        r.vol_down,
        r.vol_up,
        r.vol_up_power,
        r.extreme_cover,
        r.time_roll_seconds as i128,
        (r.mm_mode == MaintenanceMode::ReducedGrid) as i128,
        r.mm_fraction,
        r.max_offset_credit,
        r.short_option_min,
        r.es_enabled as i128,
        r.es_confidence,
        r.es_min_samples as i128,
        r.es_multiplier,
        r.extreme_moves.len() as i128,
        r.concentration_tiers.len() as i128,
    ];
    par.extend_from_slice(&r.extreme_moves);
    for t in &r.concentration_tiers {
        par.extend_from_slice(&[t.threshold, t.multiplier]);
    }
    par.extend_from_slice(&r.correlation);
    [col, pos, mkt, par, inputs.market.history.clone()]
}

/// Full calldata for `selector` with head words `lead` (e.g. `[underlying]`
/// for `scenarioPnl`, empty for `accountMargin`) followed by `inputs`.
pub fn encode_call(selector: [u8; 4], lead: &[u64], inputs: &Inputs) -> Vec<u8> {
    let arrays = flatten(inputs);
    let mut args: Vec<Arg> = lead.iter().map(|v| Arg::Word(*v as i128)).collect();
    args.push(Arg::Word(inputs.market.now as i128));
    args.push(Arg::Word(inputs.portfolio.cash));
    args.extend(arrays.iter().map(|a| Arg::Array(a)));
    call_data(selector, &args)
}

/// Calldata of `accountMargin` for `inputs` (what the engine sends).
pub fn encode_account_margin(inputs: &Inputs) -> Vec<u8> {
    encode_call(crate::accountMarginCall::SELECTOR, &[], inputs)
}

/// Calldata of `scenarioPnl(underlying, ...)` for `inputs`.
pub fn encode_scenario_pnl(underlying: u64, inputs: &Inputs) -> Vec<u8> {
    encode_call(crate::scenarioPnlCall::SELECTOR, &[underlying], inputs)
}

/// Calldata of `accountGreeks` for `inputs`; read the answer with [`GreeksOutput::decode`].
pub fn encode_account_greeks(inputs: &Inputs) -> Vec<u8> {
    encode_call(crate::accountGreeksCall::SELECTOR, &[], inputs)
}

/// Calldata of `markPrice`: one unit of the instrument `kind` (0 perp, 1 call,
/// 2 put; strike WAD and expiry unix seconds, ignored for a perp) on
/// `market` at `now`, for a holder of signed `size` (WAD; its sign picks the
/// bound outside Black-76's domain: short the upper, else the lower). Read
/// the answer with [`decode_mark_price`].
pub fn encode_mark_price(
    now: u64,
    market: &UnderlyingMarket,
    kind: u8,
    strike: i128,
    expiry: u64,
    size: i128,
) -> Vec<u8> {
    call_data(
        crate::markPriceCall::SELECTOR,
        &[
            Arg::Word(now as i128),
            Arg::Array(&market_words(market)),
            Arg::Word(kind as i128),
            Arg::Word(strike),
            Arg::Word(expiry as i128),
            Arg::Word(size),
        ],
    )
}

/// The price (WAD) `markPrice` returns; `None` when `data` is shorter than one
/// word or the word does not fit i128 (trailing bytes are ignored, as by
/// Solidity's decoder).
pub fn decode_mark_price(data: &[u8]) -> Option<Wad> {
    word_at(data, 0).and_then(word_i128)
}

/// The words of EWMA params, in `ewmaUpdate` order.
fn ewma_params_words(p: &EwmaParams) -> [Wad; EWMA_PARAMS_WORDS] {
    [
        p.lambda,
        p.lambda_interval_seconds as i128,
        p.k,
        p.horizon_seconds as i128,
        p.range_min,
        p.range_max,
        p.max_fall_per_day,
        p.apc_floor_share,
    ]
}

/// The words of an EWMA state, in `ewmaUpdate` order.
fn ewma_state_words(s: &EwmaState) -> [Wad; EWMA_STATE_WORDS] {
    [
        s.variance_per_second,
        s.last_price,
        s.last_update as i128,
        s.scan_range,
        s.peak_range,
    ]
}

/// Calldata of `ewmaUpdate`: oracle `price` (WAD) at `now`; `initial_vol`
/// (annualised WAD) seeds the state when `state.last_update == 0`. Read the
/// answer with [`decode_ewma_state`].
pub fn encode_ewma_update(
    now: u64,
    price: i128,
    initial_vol: i128,
    params: &EwmaParams,
    state: &EwmaState,
) -> Vec<u8> {
    call_data(
        crate::ewmaUpdateCall::SELECTOR,
        &[
            Arg::Word(now as i128),
            Arg::Word(price),
            Arg::Word(initial_vol),
            Arg::Array(&ewma_params_words(params)),
            Arg::Array(&ewma_state_words(state)),
        ],
    )
}

/// ABI encoding of `ewmaUpdate`'s return `(int256[] newState)`.
pub fn encode_ewma_state(s: &EwmaState) -> Vec<u8> {
    encode_words(&ewma_state_words(s))
}

/// How a record word is read: a WAD (fits i128), a u64, a u32, or a 0/1 flag.
#[derive(Clone, Copy)]
enum Ty {
    Wad,
    U64,
    U32,
    Flag,
}

/// One word of a record: the `field` code its error names, its type, and
/// the offset added to the record's index in that error.
type Spec = (u8, Ty, u8);

const COLLATERAL: [Spec; COLLATERAL_WORDS] = [
    (Field::CollateralAmount as u8, Ty::Wad, 0),
    (Field::CollateralPrice as u8, Ty::Wad, 0),
    (Field::CollateralImHaircut as u8, Ty::Wad, 0),
    (Field::CollateralMmHaircut as u8, Ty::Wad, 0),
];

/// Position words; strike and expiry (the last two) are read for options only.
const POSITION: [Spec; POSITION_WORDS] = [
    (code::POSITION_UNDERLYING, Ty::U32, 0),
    (code::POSITION_KIND, Ty::U64, 0),
    (Field::PositionSize as u8, Ty::Wad, 0),
    (Field::PositionEntryPrice as u8, Ty::Wad, 0),
    (Field::OptionStrike as u8, Ty::Wad, 0),
    (Field::OptionExpiry as u8, Ty::U64, 0),
];

const MARKET: [Spec; MARKET_WORDS] = [
    (Field::Spot as u8, Ty::Wad, 0),
    (Field::ScanRange as u8, Ty::Wad, 0),
    (Field::OracleConfidence as u8, Ty::Wad, 0),
    (Field::SmileAtmVol as u8, Ty::Wad, 0),
    (Field::SmileSkew as u8, Ty::Wad, 0),
    (Field::SmileCurvature as u8, Ty::Wad, 0),
    (Field::SmileMinVol as u8, Ty::Wad, 0),
    (Field::SmileMaxVol as u8, Ty::Wad, 0),
];

/// The params head without its two counts (nExtreme, nTiers).
const PARAMS: [Spec; PARAMS_HEAD - 2] = [
    (Field::GridK as u8, Ty::U32, 0),
    (Field::VolDown as u8, Ty::Wad, 0),
    (Field::VolUp as u8, Ty::Wad, 0),
    (Field::VolUpPower as u8, Ty::Wad, 0),
    (Field::ExtremeCover as u8, Ty::Wad, 0),
    (Field::TimeRoll as u8, Ty::U64, 0),
    (code::MM_MODE, Ty::Flag, 0),
    (Field::MmFraction as u8, Ty::Wad, 0),
    (Field::MaxOffsetCredit as u8, Ty::Wad, 0),
    (Field::ShortOptionMin as u8, Ty::Wad, 0),
    (code::ES_ENABLED, Ty::Flag, 0),
    (Field::EsConfidence as u8, Ty::Wad, 0),
    (Field::EsMinSamples as u8, Ty::U32, 0),
    (Field::EsMultiplier as u8, Ty::Wad, 0),
];

const TIER: [Spec; 2] = [
    (Field::ConcentrationThreshold as u8, Ty::Wad, 0),
    (Field::ConcentrationMultiplier as u8, Ty::Wad, 0),
];

/// EWMA params; errors as keel-risk's `EwmaParams::validate` names them.
const EWMA_PARAMS: [Spec; EWMA_PARAMS_WORDS] = [
    (Field::EwmaLambda as u8, Ty::Wad, 0),
    (Field::EwmaInterval as u8, Ty::U64, 0),
    (Field::EwmaK as u8, Ty::Wad, 0),
    (Field::EwmaHorizon as u8, Ty::U64, 0),
    (Field::EwmaRangeBounds as u8, Ty::Wad, 0),
    (Field::EwmaRangeBounds as u8, Ty::Wad, 1),
    (Field::EwmaMaxFall as u8, Ty::Wad, 0),
    (Field::EwmaApcShare as u8, Ty::Wad, 0),
];

/// EWMA state; lastPrice as `EwmaState::update` names it, lastUpdate `NOW` 1,
/// scanRange / peakRange `ScanRange` 0 / 1.
const EWMA_STATE: [Spec; EWMA_STATE_WORDS] = [
    (Field::EwmaVariance as u8, Ty::Wad, 0),
    (Field::OraclePrice as u8, Ty::Wad, 1),
    (code::NOW, Ty::U64, 1),
    (Field::ScanRange as u8, Ty::Wad, 0),
    (Field::ScanRange as u8, Ty::Wad, 1),
];

/// An EWMA state from its 5 words ([`EWMA_STATE`] errors).
fn ewma_state(s: &Words) -> Result<EwmaState, RiskCalcError> {
    s.check(0, &EWMA_STATE, 0)?;
    let mut v = [0; EWMA_STATE_WORDS];
    s.fill(0, &mut v);
    Ok(EwmaState {
        variance_per_second: v[0],
        last_price: v[1],
        last_update: v[2] as u64,
        scan_range: v[3],
        peak_range: v[4],
    })
}

/// Decodes `ewmaUpdate`'s answer; `None` unless it is one `int256[]` of 5
/// words whose `lastUpdate` fits u64 and the rest i128.
pub fn decode_ewma_state(data: &[u8]) -> Option<EwmaState> {
    let s = Words::arg(data, 0).ok()?;
    ewma_state(&s.exactly(EWMA_STATE_WORDS, 0).ok()?).ok()
}

/// The market at words `b..b + 8` of `m` (already checked against [`MARKET`]).
fn market_at(m: &Words, b: usize) -> UnderlyingMarket {
    let mut v = [0; MARKET_WORDS];
    m.fill(b, &mut v);
    UnderlyingMarket {
        spot: v[0],
        scan_range: v[1],
        oracle_confidence: v[2],
        smile: Smile {
            atm_vol: v[3],
            skew: v[4],
            curvature: v[5],
            min_vol: v[6],
            max_vol: v[7],
        },
    }
}

/// Kind word `kind`: 0 perp (`None`), 1 call, 2 put; else
/// `RiskInvalidInput(POSITION_KIND, index)`.
fn option_kind(kind: i128, index: usize) -> Result<Option<OptionKind>, RiskCalcError> {
    match kind {
        0 => Ok(None),
        1 => Ok(Some(OptionKind::Call)),
        2 => Ok(Some(OptionKind::Put)),
        _ => Err(invalid(code::POSITION_KIND, index as u64)),
    }
}

/// Decoded `markPrice` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkPriceArgs {
    /// Valuation time (unix seconds).
    pub now: u64,
    /// The underlying's market (not yet validated).
    pub market: UnderlyingMarket,
    /// What to value (perp, or an option with its strike and expiry).
    pub instrument: Instrument,
    /// The holder's signed position (WAD); only its sign is used (0 for a perp).
    pub size: Wad,
}

/// Decodes `markPrice(now, market, kind, strike, expiry, size)` (`args` =
/// calldata after the selector). Shapes and word types only: `market` must
/// have 8 words ([`code::MARKETS_LENGTH`]); kind 0..2 ([`code::POSITION_KIND`],
/// index 0); an option's strike and size must fit i128 ([`Field::OptionStrike`],
/// [`Field::PositionSize`]) and its expiry u64 ([`Field::OptionExpiry`]); a
/// perp's are not read (its `size` decodes as 0).
pub fn decode_mark_price_args(args: &[u8]) -> Result<MarkPriceArgs, RiskCalcError> {
    let h = Words::head(args, 6)?;
    h.check(0, &[(code::NOW, Ty::U64, 0)], 0)?;
    let m = Words::arg(args, 1)?.exactly(MARKET_WORDS, code::MARKETS_LENGTH)?;
    m.check(0, &MARKET, 0)?;
    h.check(2, &[(code::POSITION_KIND, Ty::U64, 0)], 0)?;
    let (instrument, size) = match option_kind(h.get(2), 0)? {
        None => (Instrument::Perp, 0),
        Some(kind) => {
            h.check(3, &POSITION[4..], 0)?;
            h.check(5, &POSITION[2..3], 0)?;
            let option = Instrument::Option {
                kind,
                strike: h.get(3),
                expiry: h.get(4) as u64,
            };
            (option, h.get(5))
        }
    };
    Ok(MarkPriceArgs {
        now: h.get(0) as u64,
        market: market_at(&m, 0),
        instrument,
        size,
    })
}

/// Decoded `ewmaUpdate` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EwmaUpdateArgs {
    /// Time of the oracle price (unix seconds).
    pub now: u64,
    /// Oracle price (WAD).
    pub price: Wad,
    /// Annualised vol (WAD) seeding a new state.
    pub initial_vol: Wad,
    /// EWMA parameters (not yet validated).
    pub params: EwmaParams,
    /// Current state (`last_update == 0`: none yet).
    pub state: EwmaState,
}

/// Decodes `ewmaUpdate(now, price, initialVol, params, state)` (`args` =
/// calldata after the selector). Shapes and word types only; a word that
/// does not fit names: now [`code::NOW`] 0, price [`Field::OraclePrice`] 0,
/// initialVol [`Field::EwmaVariance`] 0, a param its `Ewma*` field
/// (rangeMax: [`Field::EwmaRangeBounds`] 1), in the state variance
/// [`Field::EwmaVariance`] 0, lastPrice [`Field::OraclePrice`] 1, lastUpdate
/// [`code::NOW`] 1, scanRange / peakRange [`Field::ScanRange`] 0 / 1.
pub fn decode_ewma_update_args(args: &[u8]) -> Result<EwmaUpdateArgs, RiskCalcError> {
    let h = Words::head(args, 5)?;
    let head = [
        (code::NOW, Ty::U64, 0),
        (Field::OraclePrice as u8, Ty::Wad, 0),
        (Field::EwmaVariance as u8, Ty::Wad, 0),
    ];
    h.check(0, &head, 0)?;
    let p = Words::arg(args, 3)?.exactly(EWMA_PARAMS_WORDS, code::EWMA_PARAMS_LENGTH)?;
    let s = Words::arg(args, 4)?.exactly(EWMA_STATE_WORDS, code::EWMA_STATE_LENGTH)?;
    p.check(0, &EWMA_PARAMS, 0)?;
    let state = ewma_state(&s)?;
    let mut v = [0; 3 + EWMA_PARAMS_WORDS];
    h.fill(0, &mut v[..3]);
    p.fill(0, &mut v[3..]);
    Ok(EwmaUpdateArgs {
        now: v[0] as u64,
        price: v[1],
        initial_vol: v[2],
        params: EwmaParams {
            lambda: v[3],
            lambda_interval_seconds: v[4] as u64,
            k: v[5],
            horizon_seconds: v[6] as u64,
            range_min: v[7],
            range_max: v[8],
            max_fall_per_day: v[9],
            apc_floor_share: v[10],
        },
        state,
    })
}

/// Decodes the seven margin arguments starting at head word `first` of `args`
/// (the calldata after the selector): now, cash, collaterals, positions,
/// markets, params, history. Validation of values is left to keel-risk (its errors
/// name the field); this checks only shapes and word types.
///
/// Every check comes before the first allocation, so an error exit has
/// nothing to drop (drop code on each exit path cost ~1 KB of WASM).
pub fn decode_inputs(args: &[u8], first: usize) -> Result<Inputs, RiskCalcError> {
    let h = Words::head(args, first + 7)?;
    let head = [(code::NOW, Ty::U64, 0), (Field::Cash as u8, Ty::Wad, 0)];
    h.check(first, &head, 0)?;
    let col = Words::arg(args, first + 2)?;
    let pos = Words::arg(args, first + 3)?;
    let mkt = Words::arg(args, first + 4)?;
    let par = Words::arg(args, first + 5)?;
    let his = Words::arg(args, first + 6)?;

    let n_col = col.records(COLLATERAL_WORDS, code::COLLATERALS_LENGTH)?;
    for i in 0..n_col {
        col.check(i * COLLATERAL_WORDS, &COLLATERAL, i)?;
    }
    let n_pos = pos.records(POSITION_WORDS, code::POSITIONS_LENGTH)?;
    for i in 0..n_pos {
        let b = i * POSITION_WORDS;
        pos.check(b, &POSITION[..4], i)?;
        if option_kind(pos.get(b + 1), i)?.is_some() {
            pos.check(b + 4, &POSITION[4..], i)?;
        }
    }
    let n_mkt = mkt.records(MARKET_WORDS, code::MARKETS_LENGTH)?;
    for i in 0..n_mkt {
        mkt.check(i * MARKET_WORDS, &MARKET, i)?;
    }
    his.check_list(0, his.len(), Field::History)?;

    let len = par.len();
    let short = invalid(code::PARAMS_LENGTH, len as u64);
    if len < PARAMS_HEAD {
        return Err(short);
    }
    // u32, so that `as usize` is exact on wasm32 too (a longer array cannot exist).
    let counts = [(code::PARAMS_LENGTH, Ty::U32, 0); 2];
    par.check(PARAMS_HEAD - 2, &counts, len)?;
    let (n_ext, n_tier) = (par.get(14) as usize, par.get(15) as usize);
    let tiers_at = PARAMS_HEAD
        .checked_add(n_ext)
        .filter(|v| *v <= len)
        .ok_or(short)?;
    let corr_at = n_tier
        .checked_mul(2)
        .and_then(|t| t.checked_add(tiers_at))
        .filter(|v| *v <= len)
        .ok_or(short)?;
    par.check(0, &PARAMS, 0)?;
    par.check_list(PARAMS_HEAD, n_ext, Field::ExtremeMoves)?;
    for i in 0..n_tier {
        par.check(tiers_at + 2 * i, &TIER, i)?;
    }
    par.check_list(corr_at, len - corr_at, Field::Correlation)?;

    // Everything is checked: build.
    let collaterals = (0..n_col)
        .map(|i| {
            let mut v = [0; COLLATERAL_WORDS];
            col.fill(i * COLLATERAL_WORDS, &mut v);
            Collateral {
                amount: v[0],
                price: v[1],
                im_haircut: v[2],
                mm_haircut: v[3],
            }
        })
        .collect();
    let positions = (0..n_pos)
        .map(|i| {
            let mut v = [0; POSITION_WORDS];
            pos.fill(i * POSITION_WORDS, &mut v);
            Position {
                underlying: v[0] as u32,
                instrument: match v[1] {
                    0 => Instrument::Perp,
                    k => Instrument::Option {
                        kind: if k == 1 {
                            OptionKind::Call
                        } else {
                            OptionKind::Put
                        },
                        strike: v[4],
                        expiry: v[5] as u64,
                    },
                },
                size: v[2],
                entry_price: v[3],
            }
        })
        .collect();
    let underlyings = (0..n_mkt)
        .map(|i| market_at(&mkt, i * MARKET_WORDS))
        .collect();
    let mut v = [0; PARAMS_HEAD];
    par.fill(0, &mut v);
    let params = RiskParams {
        grid_k: v[0] as u32,
        vol_down: v[1],
        vol_up: v[2],
        vol_up_power: v[3],
        extreme_cover: v[4],
        time_roll_seconds: v[5] as u64,
        mm_mode: if v[6] == 1 {
            MaintenanceMode::ReducedGrid
        } else {
            MaintenanceMode::FractionOfIm
        },
        mm_fraction: v[7],
        max_offset_credit: v[8],
        short_option_min: v[9],
        es_enabled: v[10] == 1,
        es_confidence: v[11],
        es_min_samples: v[12] as u32,
        es_multiplier: v[13],
        extreme_moves: par.list(PARAMS_HEAD, n_ext),
        concentration_tiers: (0..n_tier)
            .map(|i| tiers_at + 2 * i)
            .map(|b| ConcentrationTier {
                threshold: par.get(b),
                multiplier: par.get(b + 1),
            })
            .collect(),
        correlation: par.list(corr_at, len - corr_at),
    };

    Ok(Inputs {
        portfolio: Portfolio {
            collaterals,
            cash: h.get(first + 1),
            positions,
        },
        market: MarketData {
            now: h.get(first) as u64,
            underlyings,
            history: his.list(0, his.len()),
        },
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{accountMarginCall, accountMarginReturn, scenarioPnlCall};
    use crate::{dispatch, Failure, RiskInvalidInput, RiskMathError};
    use alloy_primitives::{I256, U256};
    use alloy_sol_types::{SolCall, SolValue};
    use keel_risk::WAD;

    fn sample() -> Inputs {
        let smile = Smile {
            atm_vol: WAD / 10 * 8,
            skew: -WAD / 10,
            curvature: WAD / 2,
            min_vol: WAD / 10,
            max_vol: 3 * WAD,
        };
        Inputs {
            portfolio: Portfolio {
                collaterals: vec![
                    Collateral {
                        amount: 10_000 * WAD,
                        price: WAD,
                        im_haircut: 0,
                        mm_haircut: 0,
                    },
                    Collateral {
                        amount: 3 * WAD,
                        price: 2000 * WAD,
                        im_haircut: WAD / 10,
                        mm_haircut: WAD / 20,
                    },
                ],
                cash: -250 * WAD - 7,
                positions: vec![
                    Position {
                        underlying: 0,
                        instrument: Instrument::Perp,
                        size: -2 * WAD,
                        entry_price: 1900 * WAD,
                    },
                    Position {
                        underlying: 1,
                        instrument: Instrument::Option {
                            kind: OptionKind::Call,
                            strike: 110 * WAD,
                            expiry: 1_700_000_000 + 30 * 86_400,
                        },
                        size: -5 * WAD,
                        entry_price: 0,
                    },
                    Position {
                        underlying: 0,
                        instrument: Instrument::Option {
                            kind: OptionKind::Put,
                            strike: 1800 * WAD,
                            expiry: 1_700_000_000 + 7 * 86_400,
                        },
                        size: WAD,
                        entry_price: 0,
                    },
                ],
            },
            market: MarketData {
                now: 1_700_000_000,
                underlyings: vec![
                    UnderlyingMarket {
                        spot: 2000 * WAD,
                        smile,
                        scan_range: WAD / 10,
                        oracle_confidence: WAD / 1000,
                    },
                    UnderlyingMarket {
                        spot: 100 * WAD,
                        smile,
                        scan_range: WAD / 5,
                        oracle_confidence: 0,
                    },
                ],
                history: vec![WAD / 100, -WAD / 50, -WAD / 10, WAD / 20],
            },
            params: RiskParams {
                correlation: vec![WAD, WAD / 2, WAD / 2, WAD],
                concentration_tiers: vec![
                    ConcentrationTier {
                        threshold: 1000 * WAD,
                        multiplier: WAD + WAD / 10,
                    },
                    ConcentrationTier {
                        threshold: 100_000 * WAD,
                        multiplier: 2 * WAD,
                    },
                ],
                mm_mode: MaintenanceMode::ReducedGrid,
                ..RiskParams::standard(2)
            },
        }
    }

    fn w(v: i128) -> I256 {
        I256::try_from(v).unwrap()
    }

    fn ws(v: &[i128]) -> Vec<I256> {
        v.iter().map(|x| w(*x)).collect()
    }

    /// The sample as alloy's call struct, so tests can put any int256 anywhere.
    fn alloy_call(i: &Inputs) -> accountMarginCall {
        let [c, p, m, r, h] = flatten(i);
        accountMarginCall {
            now: U256::from(i.market.now),
            cash: w(i.portfolio.cash),
            collaterals: ws(&c),
            positions: ws(&p),
            markets: ws(&m),
            params: ws(&r),
            history: ws(&h),
        }
    }

    fn run(c: &accountMarginCall) -> Result<Vec<u8>, RiskCalcError> {
        dispatch(&c.abi_encode())
    }

    fn err(field: u8, index: u64) -> Result<Vec<u8>, RiskCalcError> {
        Err(invalid(field, index))
    }

    #[test]
    fn decode_inputs_round_trips_encode_call() {
        let i = sample();
        let data = encode_call(accountMarginCall::SELECTOR, &[], &i);
        assert_eq!(decode_inputs(&data[4..], 0), Ok(i.clone()));
        let data = encode_call(scenarioPnlCall::SELECTOR, &[1], &i);
        assert_eq!(decode_inputs(&data[4..], 1), Ok(i));
    }

    #[test]
    fn encode_call_matches_alloy_abi_encoding() {
        let i = sample();
        let ours = encode_call(accountMarginCall::SELECTOR, &[], &i);
        assert_eq!(ours, alloy_call(&i).abi_encode());
        let c = alloy_call(&i);
        let pnl = scenarioPnlCall {
            underlying: U256::from(1),
            now: c.now,
            cash: c.cash,
            collaterals: c.collaterals,
            positions: c.positions,
            markets: c.markets,
            params: c.params,
            history: c.history,
        };
        assert_eq!(
            encode_call(scenarioPnlCall::SELECTOR, &[1], &i),
            pnl.abi_encode()
        );
    }

    #[test]
    fn margin_output_encoding_matches_alloy_and_round_trips() {
        let o = MarginOutput {
            equity_im: -5,
            equity_mm: i128::MAX,
            im: 7,
            mm: 0,
            health: i128::MIN,
            scan_loss: vec![1, 2, 3],
            worst_index: vec![0, u32::MAX, 9],
        };
        let alloy = accountMarginReturn {
            equityIm: w(-5),
            equityMm: w(i128::MAX),
            im: w(7),
            mm: w(0),
            health: w(i128::MIN),
            scanLoss: ws(&[1, 2, 3]),
            worstIndex: vec![U256::ZERO, U256::from(u32::MAX), U256::from(9)],
        };
        let enc = o.encode();
        assert_eq!(enc, accountMarginCall::abi_encode_returns(&alloy));
        assert_eq!(MarginOutput::decode(&enc), Some(o));
        assert_eq!(MarginOutput::decode(&enc[..enc.len() - 1]), None);
        let empty = MarginOutput {
            scan_loss: vec![],
            worst_index: vec![],
            ..MarginOutput::decode(&enc).unwrap()
        };
        assert_eq!(MarginOutput::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn encode_words_matches_alloy() {
        let v = vec![-1, 0, i128::MAX];
        assert_eq!(encode_words(&v), (ws(&v),).abi_encode_params());
        assert_eq!(encode_words(&[]), (Vec::<I256>::new(),).abi_encode_params());
    }

    /// The errors as stylus-sdk's `#[derive(SolidityError)]` encodes them.
    #[derive(stylus_sdk::prelude::SolidityError)]
    enum SdkError {
        RiskInvalidInput(RiskInvalidInput),
        RiskMathError(RiskMathError),
    }

    fn sdk_revert_data(e: RiskCalcError) -> Vec<u8> {
        Vec::from(match e.get() {
            Failure::RiskInvalidInput { field, index } => {
                SdkError::RiskInvalidInput(RiskInvalidInput {
                    field,
                    index: U256::from(index),
                })
            }
            Failure::RiskMathError { kind } => SdkError::RiskMathError(RiskMathError { kind }),
        })
    }

    #[test]
    fn revert_data_matches_solidity_error_encoding() {
        for e in [
            invalid(code::CALLDATA, 0xdead_beef),
            invalid(code::EWMA_STATE_LENGTH, (1 << 48) - 1),
            invalid(0, 0),
            invalid(255, 7),
            risk_error(RiskError::Math(MathError::Overflow)),
            risk_error(RiskError::Math(MathError::Domain)),
            RiskCalcError::math(255),
        ] {
            assert_eq!(e.revert_data(), sdk_revert_data(e), "{e:?}");
        }
    }

    #[test]
    fn packed_errors_unpack_and_saturate() {
        assert_eq!(
            invalid(81, 5).get(),
            Failure::RiskInvalidInput {
                field: 81,
                index: 5
            }
        );
        assert_eq!(
            invalid(255, u64::MAX).get(),
            Failure::RiskInvalidInput {
                field: 255,
                index: (1 << 48) - 1
            }
        );
        assert_eq!(
            RiskCalcError::math(2).get(),
            Failure::RiskMathError { kind: 2 }
        );
        assert_ne!(invalid(2, 0), RiskCalcError::math(2));
        assert_eq!(
            alloc::format!("{:?}", invalid(3, 4)),
            "RiskInvalidInput { field: 3, index: 4 }"
        );
    }

    #[test]
    fn dispatch_equals_native_account_margin() {
        let i = sample();
        let r = keel_risk::account_margin(&i.portfolio, &i.market, &i.params).unwrap();
        let out = run(&alloy_call(&i)).unwrap();
        assert_eq!(
            MarginOutput::decode(&out),
            Some(MarginOutput::from_report(&r))
        );
        assert_eq!(r.underlyings.len(), 2);
        for u in 0..2 {
            let data = encode_call(scenarioPnlCall::SELECTOR, &[u], &i);
            assert_eq!(
                dispatch(&data),
                Ok(encode_words(&r.underlyings[u as usize].pnl))
            );
        }
    }

    #[test]
    fn dispatch_errors_on_scenario_underlying_out_of_range() {
        let i = sample();
        let data = encode_call(scenarioPnlCall::SELECTOR, &[2], &i);
        assert_eq!(dispatch(&data), err(code::SCENARIO_UNDERLYING, 2));
        let mut data = encode_call(scenarioPnlCall::SELECTOR, &[0], &i);
        data[4] = 1; // underlying >= 2^64
        assert_eq!(dispatch(&data), err(code::SCENARIO_UNDERLYING, 0));
    }

    #[test]
    fn dispatch_errors_on_malformed_calldata() {
        assert_eq!(dispatch(&[]), err(code::CALLDATA, 0));
        assert_eq!(dispatch(&[1, 2, 3]), err(code::CALLDATA, 0));
        assert_eq!(
            dispatch(&[0xde, 0xad, 0xbe, 0xef]),
            err(code::CALLDATA, 0xdead_beef)
        );
        let full = alloy_call(&sample()).abi_encode();
        // Truncated head: `now` missing, then `cash` missing.
        assert_eq!(dispatch(&full[..4]), err(code::CALLDATA, 0));
        assert_eq!(dispatch(&full[..36]), err(code::CALLDATA, 1));
        // Truncated tail: the last array (history) is cut.
        assert_eq!(dispatch(&full[..full.len() - 1]), err(code::CALLDATA, 6));
        // Offset of collaterals (head word 2) beyond the calldata, or huge.
        let mut bad = full.clone();
        bad[4 + 2 * 32 + 30] = 0xff;
        assert_eq!(dispatch(&bad), err(code::CALLDATA, 2));
        let mut bad = full.clone();
        bad[4 + 2 * 32 + 8..4 + 3 * 32].fill(0xff);
        assert_eq!(dispatch(&bad), err(code::CALLDATA, 2));
        // Length of collaterals so large that len x 32 overflows.
        let off = 4 + 7 * 32;
        let mut bad = full;
        bad[off + 24..off + 32].fill(0xff);
        assert_eq!(dispatch(&bad), err(code::CALLDATA, 2));
    }

    #[test]
    fn dispatch_errors_on_ragged_arrays() {
        let c = alloy_call(&sample());
        let mut x = c.clone();
        x.collaterals.pop();
        assert_eq!(run(&x), err(code::COLLATERALS_LENGTH, 7));
        let mut x = c.clone();
        x.positions.push(I256::ZERO);
        assert_eq!(run(&x), err(code::POSITIONS_LENGTH, 19));
        let mut x = c.clone();
        x.markets.truncate(9);
        assert_eq!(run(&x), err(code::MARKETS_LENGTH, 9));
        let mut x = c.clone();
        x.params.truncate(PARAMS_HEAD - 1);
        assert_eq!(run(&x), err(code::PARAMS_LENGTH, 15));
        // Counts declaring more extreme moves / tiers than the array holds.
        let len = c.params.len() as u64;
        let mut x = c.clone();
        x.params[14] = w(len as i128);
        assert_eq!(run(&x), err(code::PARAMS_LENGTH, len));
        let mut x = c.clone();
        x.params[15] = w(len as i128);
        assert_eq!(run(&x), err(code::PARAMS_LENGTH, len));
        let mut x = c.clone();
        x.params[15] = I256::MINUS_ONE;
        assert_eq!(run(&x), err(code::PARAMS_LENGTH, len));
        let mut x = c;
        x.params[14] = w(u64::MAX as i128);
        assert_eq!(run(&x), err(code::PARAMS_LENGTH, len));
    }

    #[test]
    fn dispatch_errors_on_words_outside_their_type() {
        let c = alloy_call(&sample());
        let big = I256::try_from(i128::MAX).unwrap() + I256::ONE;
        let small = I256::try_from(i128::MIN).unwrap() - I256::ONE;
        let mut x = c.clone();
        x.now = U256::from(u64::MAX) + U256::from(1);
        assert_eq!(run(&x), err(code::NOW, 0));
        let mut x = c.clone();
        x.cash = small;
        assert_eq!(run(&x), err(Field::Cash as u8, 0));
        let mut x = c.clone();
        x.collaterals[5] = big; // collateral 1, price
        assert_eq!(run(&x), err(Field::CollateralPrice as u8, 1));
        let mut x = c.clone();
        x.collaterals[3] = small;
        assert_eq!(run(&x), err(Field::CollateralMmHaircut as u8, 0));
        let mut x = c.clone();
        x.positions[6] = w(1 << 32); // position 1, underlying
        assert_eq!(run(&x), err(code::POSITION_UNDERLYING, 1));
        let mut x = c.clone();
        x.positions[7] = w(3); // position 1, kind
        assert_eq!(run(&x), err(code::POSITION_KIND, 1));
        let mut x = c.clone();
        x.positions[13] = I256::MINUS_ONE; // position 2, kind
        assert_eq!(run(&x), err(code::POSITION_KIND, 2));
        let mut x = c.clone();
        x.positions[2] = big; // position 0, size
        assert_eq!(run(&x), err(Field::PositionSize as u8, 0));
        let mut x = c.clone();
        x.positions[3] = small; // position 0, entry
        assert_eq!(run(&x), err(Field::PositionEntryPrice as u8, 0));
        let mut x = c.clone();
        x.positions[10] = big; // position 1, strike
        assert_eq!(run(&x), err(Field::OptionStrike as u8, 1));
        let mut x = c.clone();
        x.positions[11] = I256::MINUS_ONE; // position 1, expiry
        assert_eq!(run(&x), err(Field::OptionExpiry as u8, 1));
        let mut x = c.clone();
        x.positions[4] = big; // a perp's strike is ignored
        x.positions[5] = I256::MINUS_ONE;
        assert!(run(&x).is_ok());
        for (k, f) in [
            Field::Spot,
            Field::ScanRange,
            Field::OracleConfidence,
            Field::SmileAtmVol,
            Field::SmileSkew,
            Field::SmileCurvature,
            Field::SmileMinVol,
            Field::SmileMaxVol,
        ]
        .into_iter()
        .enumerate()
        {
            let mut x = c.clone();
            x.markets[MARKET_WORDS + k] = big;
            assert_eq!(run(&x), err(f as u8, 1), "{f:?}");
        }
        let mut x = c.clone();
        x.history[3] = small;
        assert_eq!(run(&x), err(Field::History as u8, 3));
        for (k, f) in [
            (0, Field::GridK as u8),
            (1, Field::VolDown as u8),
            (2, Field::VolUp as u8),
            (3, Field::VolUpPower as u8),
            (4, Field::ExtremeCover as u8),
            (5, Field::TimeRoll as u8),
            (6, code::MM_MODE),
            (7, Field::MmFraction as u8),
            (8, Field::MaxOffsetCredit as u8),
            (9, Field::ShortOptionMin as u8),
            (10, code::ES_ENABLED),
            (11, Field::EsConfidence as u8),
            (12, Field::EsMinSamples as u8),
            (13, Field::EsMultiplier as u8),
        ] {
            let mut x = c.clone();
            x.params[k] = if k == 0 || k == 12 { w(1 << 32) } else { small };
            assert_eq!(run(&x), err(f, 0), "param {k}");
        }
        let mut x = c.clone();
        x.params[6] = w(2);
        assert_eq!(run(&x), err(code::MM_MODE, 0));
        let mut x = c.clone();
        x.params[10] = w(2);
        assert_eq!(run(&x), err(code::ES_ENABLED, 0));
        // params tail: extreme move 1, tier 1 threshold / multiplier, correlation 3.
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 1] = big;
        assert_eq!(run(&x), err(Field::ExtremeMoves as u8, 1));
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 4] = big;
        assert_eq!(run(&x), err(Field::ConcentrationThreshold as u8, 1));
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 5] = big;
        assert_eq!(run(&x), err(Field::ConcentrationMultiplier as u8, 1));
        let mut x = c;
        x.params[PARAMS_HEAD + 6 + 3] = big;
        assert_eq!(run(&x), err(Field::Correlation as u8, 3));
    }

    #[test]
    fn dispatch_errors_on_risk_validation() {
        let c = alloy_call(&sample());
        // keel-risk's own bounds, named by its Field code and element index.
        let mut x = c.clone();
        x.markets[MARKET_WORDS] = w(0); // underlying 1 spot
        assert_eq!(run(&x), err(Field::Spot as u8, 1));
        let mut x = c.clone();
        x.collaterals = ws(&vec![0; 4 * 33]); // 33 collaterals: too many
        assert_eq!(run(&x), err(Field::Collaterals as u8, 33));
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 4] = w(WAD); // tier thresholds not increasing
        assert_eq!(run(&x), err(Field::ConcentrationThreshold as u8, 1));
        let mut x = c.clone();
        x.params.push(w(WAD)); // 5 correlation entries
        assert_eq!(run(&x), err(code::CORRELATION_SHAPE, 5));
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 6 + 1] = w(WAD / 4); // (0,1) != (1,0)
        assert_eq!(run(&x), err(code::CORRELATION_SYMMETRY, 1));
        let mut x = c.clone();
        x.params[PARAMS_HEAD + 6 + 3] = w(WAD / 2); // diagonal (1,1)
        assert_eq!(run(&x), err(Field::Correlation as u8, 1));
        let mut x = c.clone();
        x.positions[6] = w(2); // underlying 2 of 2
        assert_eq!(run(&x), err(code::POSITION_UNDERLYING, 1));
        let mut x = c.clone();
        x.history.pop();
        assert_eq!(run(&x), err(code::HISTORY_SHAPE, 3));
        let mut x = c;
        x.params[10] = w(1); // ES on with 2 epochs, 20 needed
        assert_eq!(run(&x), err(code::INSUFFICIENT_HISTORY, 2));
    }

    #[test]
    fn risk_error_maps_every_variant() {
        let math = RiskCalcError::math;
        assert_eq!(risk_error(RiskError::Math(MathError::Overflow)), math(0));
        assert_eq!(
            risk_error(RiskError::Math(MathError::DivisionByZero)),
            math(1)
        );
        assert_eq!(risk_error(RiskError::Math(MathError::Domain)), math(2));
        let cases = [
            (
                RiskError::OutOfRange {
                    field: Field::VolUp,
                    index: 4,
                    value: 0,
                    min: 0,
                    max: 0,
                },
                invalid(Field::VolUp as u8, 4),
            ),
            (
                RiskError::TooMany {
                    field: Field::Positions,
                    len: 300,
                    max: 256,
                },
                invalid(Field::Positions as u8, 300),
            ),
            (
                RiskError::NotIncreasing {
                    field: Field::ConcentrationMultiplier,
                    index: 2,
                },
                invalid(Field::ConcentrationMultiplier as u8, 2),
            ),
            (
                RiskError::CorrelationShape {
                    len: 3,
                    expected: 4,
                },
                invalid(code::CORRELATION_SHAPE, 3),
            ),
            (
                RiskError::CorrelationNotSymmetric { row: 2, col: 5 },
                invalid(code::CORRELATION_SYMMETRY, 37),
            ),
            (
                RiskError::CorrelationDiagonal { index: 3, value: 0 },
                invalid(Field::Correlation as u8, 3),
            ),
            (
                RiskError::UnknownUnderlying {
                    position: 9,
                    underlying: 4,
                    count: 1,
                },
                invalid(code::POSITION_UNDERLYING, 9),
            ),
            (
                RiskError::HistoryShape {
                    len: 5,
                    underlyings: 2,
                },
                invalid(code::HISTORY_SHAPE, 5),
            ),
            (
                RiskError::InsufficientHistory { have: 1, need: 2 },
                invalid(code::INSUFFICIENT_HISTORY, 1),
            ),
            (
                RiskError::NonMonotonicTime { last: 2, now: 1 },
                invalid(code::NON_MONOTONIC_TIME, 2),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(risk_error(e), want, "{e:?}");
        }
    }
}
