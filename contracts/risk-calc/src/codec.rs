//! Word layout of the calculator's ABI: decoding calldata into keel-risk's
//! [`Portfolio`], [`MarketData`] and [`RiskParams`], encoding the results, and
//! the mapping of [`RiskError`] to the program's Solidity errors.
//!
//! Every array element is one ABI word. Amounts, prices and fractions are WAD
//! (`int256` that must fit `i128`, keel-risk's [`Wad`]); counts, kinds and
//! seconds are non-negative integers.
//!
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
//! Errors: `RiskInvalidInput(field, index)` where `field` is a keel-risk
//! [`Field`] code (0..63; `index` = element, or the list length for "too
//! many") or one of [`code`]; `RiskMathError(kind)`.
//! Decoding never panics and never allocates more than the calldata's size implies.

use alloc::vec::Vec;

use alloy_sol_types::SolCall;

use keel_risk::{
    Collateral, ConcentrationTier, Field, Instrument, MaintenanceMode, MarginReport, MarketData,
    MathError, OptionKind, Portfolio, Position, RiskError, RiskParams, Smile, UnderlyingMarket,
    Wad,
};

use crate::{invalid, RiskCalcError, RiskMathError};

/// Words per collateral entry.
pub const COLLATERAL_WORDS: usize = 4;
/// Words per position entry.
pub const POSITION_WORDS: usize = 6;
/// Words per underlying's market data.
pub const MARKET_WORDS: usize = 8;
/// Fixed head of the params array.
pub const PARAMS_HEAD: usize = 16;

/// Calculator-specific `field` codes of `RiskInvalidInput` (keel-risk's
/// [`Field`] codes stay below 64).
pub mod code {
    /// Malformed calldata: too short, an offset or length out of range, or an
    /// unknown selector (`index` = argument number, or the selector).
    pub const CALLDATA: u8 = 64;
    /// `collaterals.length` (= `index`) is not a multiple of 4.
    pub const COLLATERALS_LENGTH: u8 = 65;
    /// `positions.length` (= `index`) is not a multiple of 6.
    pub const POSITIONS_LENGTH: u8 = 66;
    /// `markets.length` (= `index`) is not a multiple of 8.
    pub const MARKETS_LENGTH: u8 = 67;
    /// `params.length` (= `index`) is shorter than its head and the counts it declares.
    pub const PARAMS_LENGTH: u8 = 68;
    /// `now` does not fit 64 bits.
    pub const NOW: u8 = 69;
    /// Position `index` names an underlying that does not exist (or does not fit 32 bits).
    pub const POSITION_UNDERLYING: u8 = 70;
    /// Position `index` has a kind other than 0 (perp), 1 (call), 2 (put).
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
    /// Any other keel-risk error (not reachable from `account_margin`).
    pub const OTHER: u8 = 79;
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

/// Maps a keel-risk error to the program's Solidity error.
pub fn risk_error(e: RiskError) -> RiskCalcError {
    let (field, index) = match e {
        RiskError::Math(m) => {
            return RiskCalcError::RiskMathError(RiskMathError {
                kind: match m {
                    MathError::Overflow => 0,
                    MathError::DivisionByZero => 1,
                    MathError::Domain => 2,
                },
            })
        }
        RiskError::OutOfRange { field, index, .. } | RiskError::NotIncreasing { field, index } => {
            (field as u8, index)
        }
        RiskError::TooMany { field, len, .. } => (field as u8, len),
        RiskError::CorrelationShape { len, .. } => (code::CORRELATION_SHAPE, len),
        RiskError::CorrelationNotSymmetric { row, col } => {
            // Row-major index; the side is at most 16, so this cannot overflow.
            (
                code::CORRELATION_SYMMETRY,
                row.saturating_mul(16).saturating_add(col),
            )
        }
        RiskError::CorrelationDiagonal { index, .. } => (Field::Correlation as u8, index),
        RiskError::UnknownUnderlying { position, .. } => (code::POSITION_UNDERLYING, position),
        RiskError::HistoryShape { len, .. } => (code::HISTORY_SHAPE, len),
        RiskError::InsufficientHistory { have, .. } => (code::INSUFFICIENT_HISTORY, have),
        RiskError::NonMonotonicTime { .. } => (code::OTHER, 0),
    };
    invalid(field, index as u64)
}

/// The 32-byte word at byte offset `at` of `data`.
fn word_at(data: &[u8], at: usize) -> Option<&[u8; 32]> {
    data.get(at..at.checked_add(32)?)?.try_into().ok()
}

/// A word as a `u64` (None if it does not fit).
fn word_u64(w: &[u8; 32]) -> Option<u64> {
    let (hi, lo) = w.split_at(24);
    if hi.iter().any(|b| *b != 0) {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(lo);
    Some(u64::from_be_bytes(b))
}

/// A word as a two's-complement `int256` that fits `i128` (None otherwise).
fn word_i128(w: &[u8; 32]) -> Option<i128> {
    let (hi, lo) = w.split_at(16);
    let mut b = [0u8; 16];
    b.copy_from_slice(lo);
    let v = i128::from_be_bytes(b);
    let ext = if v < 0 { 0xff } else { 0 };
    hi.iter().all(|x| *x == ext).then_some(v)
}

/// Head word `i` of the arguments as a `u64`; `field` names it in the error.
pub fn head_u64(args: &[u8], i: usize, field: u8) -> Result<u64, RiskCalcError> {
    let w = word_at(args, i * 32).ok_or(invalid(code::CALLDATA, i as u64))?;
    word_u64(w).ok_or(invalid(field, 0))
}

/// A dynamic `int256[]` argument: its elements' bytes.
#[derive(Clone, Copy)]
struct Words<'a>(&'a [u8]);

impl<'a> Words<'a> {
    /// Reads the array whose offset is head word `i` (offsets are relative to `args`).
    fn arg(args: &'a [u8], i: usize) -> Result<Self, RiskCalcError> {
        let err = invalid(code::CALLDATA, i as u64);
        let at = |o: usize| word_at(args, o).and_then(word_u64).map(|v| v as usize);
        let off = at(i * 32).ok_or(err.clone())?;
        let len = at(off).ok_or(err.clone())?;
        let start = off.checked_add(32).ok_or(err.clone())?;
        let end = len
            .checked_mul(32)
            .and_then(|n| n.checked_add(start))
            .ok_or(err.clone())?;
        Ok(Words(args.get(start..end).ok_or(err)?))
    }

    fn len(&self) -> usize {
        self.0.len() / 32
    }

    fn word(&self, i: usize) -> &'a [u8; 32] {
        // In range by construction of every caller (i < len).
        word_at(self.0, i * 32).unwrap_or(&[0; 32])
    }

    /// Element `i` as a WAD; `field`/`index` name it in the error.
    fn wad(&self, i: usize, field: Field, index: usize) -> Result<Wad, RiskCalcError> {
        word_i128(self.word(i)).ok_or(invalid(field as u8, index as u64))
    }

    /// Element `i` as a `u64`; `field`/`index` name it in the error.
    fn u64(&self, i: usize, field: u8, index: usize) -> Result<u64, RiskCalcError> {
        word_u64(self.word(i)).ok_or(invalid(field, index as u64))
    }

    /// Element `i` as a `u32`.
    fn u32(&self, i: usize, field: u8, index: usize) -> Result<u32, RiskCalcError> {
        let v = self.u64(i, field, index)?;
        u32::try_from(v).map_err(|_| invalid(field, index as u64))
    }

    /// Number of `n`-word records; errors with `field` (index = length) if ragged.
    fn records(&self, n: usize, field: u8) -> Result<usize, RiskCalcError> {
        if !self.len().is_multiple_of(n) {
            return Err(invalid(field, self.len() as u64));
        }
        Ok(self.len() / n)
    }
}

/// Appends `v` as a sign-extended `int256` word.
fn push_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&[if v < 0 { 0xff } else { 0 }; 16]);
    out.extend_from_slice(&v.to_be_bytes());
}

/// ABI encoding of `(int256[])`: one offset word, the length, the elements.
pub fn encode_words(v: &[Wad]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 32 * v.len());
    push_i128(&mut out, 32);
    push_i128(&mut out, v.len() as i128);
    for x in v {
        push_i128(&mut out, *x);
    }
    out
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
            scan_loss: r.underlyings.iter().map(|u| u.scan_loss).collect(),
            worst_index: r.underlyings.iter().map(|u| u.worst_index).collect(),
        }
    }

    /// ABI encoding of the return tuple
    /// `(int256,int256,int256,int256,int256,int256[],uint256[])`.
    pub fn encode(&self) -> Vec<u8> {
        let n = self.scan_loss.len();
        let mut out = Vec::with_capacity(32 * (9 + 2 * n));
        for v in [
            self.equity_im,
            self.equity_mm,
            self.im,
            self.mm,
            self.health,
        ] {
            push_i128(&mut out, v);
        }
        push_i128(&mut out, 7 * 32);
        push_i128(&mut out, (8 + n as i128) * 32);
        push_i128(&mut out, n as i128);
        for v in &self.scan_loss {
            push_i128(&mut out, *v);
        }
        push_i128(&mut out, self.worst_index.len() as i128);
        for v in &self.worst_index {
            push_i128(&mut out, *v as i128);
        }
        out
    }

    /// Decodes [`Self::encode`]'s output (what a caller of the program does);
    /// `None` when `data` is not such an encoding.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let head = |i: usize| word_at(data, i * 32).and_then(word_i128);
        let arr = |i: usize| Words::arg(data, i).ok();
        let (loss, worst) = (arr(5)?, arr(6)?);
        Some(MarginOutput {
            equity_im: head(0)?,
            equity_mm: head(1)?,
            im: head(2)?,
            mm: head(3)?,
            health: head(4)?,
            scan_loss: (0..loss.len())
                .map(|i| word_i128(loss.word(i)))
                .collect::<Option<_>>()?,
            worst_index: (0..worst.len())
                .map(|i| word_u64(worst.word(i)).and_then(|v| u32::try_from(v).ok()))
                .collect::<Option<_>>()?,
        })
    }
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
        .flat_map(|u| {
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
        })
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
    let head_words = lead.len() + 2 + arrays.len();
    let mut out = Vec::from(selector);
    for v in lead {
        push_i128(&mut out, *v as i128);
    }
    push_i128(&mut out, inputs.market.now as i128);
    push_i128(&mut out, inputs.portfolio.cash);
    let mut off = head_words * 32;
    for a in &arrays {
        push_i128(&mut out, off as i128);
        off += 32 * (1 + a.len());
    }
    for a in &arrays {
        push_i128(&mut out, a.len() as i128);
        for v in a {
            push_i128(&mut out, *v);
        }
    }
    out
}

/// Calldata of `accountMargin` for `inputs` (what the engine sends).
pub fn encode_account_margin(inputs: &Inputs) -> Vec<u8> {
    encode_call(crate::accountMarginCall::SELECTOR, &[], inputs)
}

/// Calldata of `scenarioPnl(underlying, ...)` for `inputs`.
pub fn encode_scenario_pnl(underlying: u64, inputs: &Inputs) -> Vec<u8> {
    encode_call(crate::scenarioPnlCall::SELECTOR, &[underlying], inputs)
}

/// Decodes the seven margin arguments starting at head word `first` of `args`
/// (the calldata after the selector): now, cash, collaterals, positions,
/// markets, params, history. Validation of values is left to keel-risk (its errors
/// name the field); this checks only shapes and word types.
pub fn decode_inputs(args: &[u8], first: usize) -> Result<Inputs, RiskCalcError> {
    let now = head_u64(args, first, code::NOW)?;
    let cash = word_at(args, (first + 1) * 32)
        .ok_or(invalid(code::CALLDATA, first as u64 + 1))
        .and_then(|w| word_i128(w).ok_or(invalid(Field::Cash as u8, 0)))?;
    let col = Words::arg(args, first + 2)?;
    let pos = Words::arg(args, first + 3)?;
    let mkt = Words::arg(args, first + 4)?;
    let par = Words::arg(args, first + 5)?;
    let his = Words::arg(args, first + 6)?;

    let n = col.records(COLLATERAL_WORDS, code::COLLATERALS_LENGTH)?;
    let mut collaterals = Vec::with_capacity(n);
    for i in 0..n {
        let b = i * COLLATERAL_WORDS;
        collaterals.push(Collateral {
            amount: col.wad(b, Field::CollateralAmount, i)?,
            price: col.wad(b + 1, Field::CollateralPrice, i)?,
            im_haircut: col.wad(b + 2, Field::CollateralImHaircut, i)?,
            mm_haircut: col.wad(b + 3, Field::CollateralMmHaircut, i)?,
        });
    }

    let n = pos.records(POSITION_WORDS, code::POSITIONS_LENGTH)?;
    let mut positions = Vec::with_capacity(n);
    for i in 0..n {
        let b = i * POSITION_WORDS;
        let instrument = match pos.u64(b + 1, code::POSITION_KIND, i)? {
            0 => Instrument::Perp,
            k @ (1 | 2) => Instrument::Option {
                kind: if k == 1 {
                    OptionKind::Call
                } else {
                    OptionKind::Put
                },
                strike: pos.wad(b + 4, Field::OptionStrike, i)?,
                expiry: pos.u64(b + 5, Field::OptionExpiry as u8, i)?,
            },
            _ => return Err(invalid(code::POSITION_KIND, i as u64)),
        };
        positions.push(Position {
            underlying: pos.u32(b, code::POSITION_UNDERLYING, i)?,
            instrument,
            size: pos.wad(b + 2, Field::PositionSize, i)?,
            entry_price: pos.wad(b + 3, Field::PositionEntryPrice, i)?,
        });
    }

    let n = mkt.records(MARKET_WORDS, code::MARKETS_LENGTH)?;
    let mut underlyings = Vec::with_capacity(n);
    for i in 0..n {
        let b = i * MARKET_WORDS;
        underlyings.push(UnderlyingMarket {
            spot: mkt.wad(b, Field::Spot, i)?,
            scan_range: mkt.wad(b + 1, Field::ScanRange, i)?,
            oracle_confidence: mkt.wad(b + 2, Field::OracleConfidence, i)?,
            smile: Smile {
                atm_vol: mkt.wad(b + 3, Field::SmileAtmVol, i)?,
                skew: mkt.wad(b + 4, Field::SmileSkew, i)?,
                curvature: mkt.wad(b + 5, Field::SmileCurvature, i)?,
                min_vol: mkt.wad(b + 6, Field::SmileMinVol, i)?,
                max_vol: mkt.wad(b + 7, Field::SmileMaxVol, i)?,
            },
        });
    }

    let history = (0..his.len())
        .map(|i| his.wad(i, Field::History, i))
        .collect::<Result<Vec<_>, _>>()?;

    let short = invalid(code::PARAMS_LENGTH, par.len() as u64);
    if par.len() < PARAMS_HEAD {
        return Err(short);
    }
    let n_ext = par.u64(14, code::PARAMS_LENGTH, par.len())? as usize;
    let n_tier = par.u64(15, code::PARAMS_LENGTH, par.len())? as usize;
    let tiers_at = PARAMS_HEAD
        .checked_add(n_ext)
        .filter(|v| *v <= par.len())
        .ok_or(short.clone())?;
    let corr_at = n_tier
        .checked_mul(2)
        .and_then(|t| t.checked_add(tiers_at))
        .filter(|v| *v <= par.len())
        .ok_or(short)?;
    let flag = |i: usize, field: u8| match par.u64(i, field, 0)? {
        v @ (0 | 1) => Ok(v == 1),
        _ => Err(invalid(field, 0)),
    };
    let params = RiskParams {
        grid_k: par.u32(0, Field::GridK as u8, 0)?,
        vol_down: par.wad(1, Field::VolDown, 0)?,
        vol_up: par.wad(2, Field::VolUp, 0)?,
        vol_up_power: par.wad(3, Field::VolUpPower, 0)?,
        extreme_cover: par.wad(4, Field::ExtremeCover, 0)?,
        time_roll_seconds: par.u64(5, Field::TimeRoll as u8, 0)?,
        mm_mode: if flag(6, code::MM_MODE)? {
            MaintenanceMode::ReducedGrid
        } else {
            MaintenanceMode::FractionOfIm
        },
        mm_fraction: par.wad(7, Field::MmFraction, 0)?,
        max_offset_credit: par.wad(8, Field::MaxOffsetCredit, 0)?,
        short_option_min: par.wad(9, Field::ShortOptionMin, 0)?,
        es_enabled: flag(10, code::ES_ENABLED)?,
        es_confidence: par.wad(11, Field::EsConfidence, 0)?,
        es_min_samples: par.u32(12, Field::EsMinSamples as u8, 0)?,
        es_multiplier: par.wad(13, Field::EsMultiplier, 0)?,
        extreme_moves: (0..n_ext)
            .map(|i| par.wad(PARAMS_HEAD + i, Field::ExtremeMoves, i))
            .collect::<Result<Vec<_>, _>>()?,
        concentration_tiers: (0..n_tier)
            .map(|i| {
                Ok::<_, RiskCalcError>(ConcentrationTier {
                    threshold: par.wad(tiers_at + 2 * i, Field::ConcentrationThreshold, i)?,
                    multiplier: par.wad(tiers_at + 2 * i + 1, Field::ConcentrationMultiplier, i)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        correlation: (corr_at..par.len())
            .map(|i| par.wad(i, Field::Correlation, i - corr_at))
            .collect::<Result<Vec<_>, _>>()?,
    };

    Ok(Inputs {
        portfolio: Portfolio {
            collaterals,
            cash,
            positions,
        },
        market: MarketData {
            now,
            underlyings,
            history,
        },
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{accountMarginCall, accountMarginReturn, scenarioPnlCall};
    use crate::{dispatch, RiskInvalidInput};
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

    #[test]
    fn revert_data_matches_solidity_error_encoding() {
        for e in [
            invalid(code::CALLDATA, u64::MAX),
            invalid(0, 0),
            risk_error(RiskError::Math(MathError::Domain)),
        ] {
            assert_eq!(e.revert_data(), Vec::<u8>::from(e.clone()));
        }
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
        let math = |kind| RiskCalcError::RiskMathError(RiskMathError { kind });
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
                invalid(code::OTHER, 0),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(risk_error(e), want, "{e:?}");
        }
        assert!(matches!(
            invalid(1, 2),
            RiskCalcError::RiskInvalidInput(RiskInvalidInput { field: 1, .. })
        ));
    }
}
