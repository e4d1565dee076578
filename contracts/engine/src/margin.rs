//! From storage to the risk calculator: builds the keel-risk inputs of an
//! account (`Portfolio`, `MarketData`, `RiskParams`), has the
//! `keel_risk_calc` program compute them, and keeps the dynamic (EWMA) state
//! of each underlying.
//!
//! `KeelEngine::figures_here` is the single place where an account's margin
//! is computed, and only the margin program (`keel_engine_margin`) runs it;
//! the accounts and keeper programs get the same figures from it by
//! `delegatecall` (`KeelEngine::margin_of`, `KeelEngine::require_im`).
//! The arithmetic runs in the calculator program (static call, word codec of
//! `keel_risk_calc::codec`), so no engine program carries fixed-point maths
//! beyond a few `wmul`/`wdiv`; the numbers are bit for bit those of keel-risk
//! run natively. Only the underlyings an account touches enter its
//! `MarketData` (compact indices; the returned map gives the engine's
//! underlying id of each), with the matching correlation sub-matrix.
use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolError;
use keel_risk::{
    ewma::{EwmaParams, EwmaState},
    portfolio::{
        Collateral, ConcentrationTier, Instrument, MaintenanceMode, MarketData, Portfolio,
        Position, RiskParams, UnderlyingMarket,
    },
    wdiv, wmul, OptionKind, Rounding, Smile, WAD,
};
use keel_risk_calc::codec::{self, Inputs, MarginOutput};
use stylus_sdk::{
    call::{static_call, RawCall},
    prelude::*,
};

use crate::abi::Args;
use crate::errors::{
    EngineError, KeelInsufficientMargin, KeelNewRiskPaused, KeelRiskError, Result,
};
use crate::{ld, ld64, lda, st, st64, sta, KeelEngine};

/// An account's inputs to the calculator and the engine underlying id of each
/// of their (compact) underlyings.
pub struct Gathered {
    /// Portfolio, market data and parameters, as keel-risk takes them.
    pub inputs: Inputs,
    /// `map[i]` = engine underlying id of the inputs' underlying `i`.
    pub map: Vec<u8>,
    /// The live deviation guard of the underlying named as `new_risk` is tripped.
    pub blocked: bool,
}

/// `newRiskUnderlying` of `marginFigures` meaning "no new risk": never blocked.
pub const NO_UNDERLYING: u8 = 255;

/// Where the ATM implied vol of an underlying came from (`impliedVol`'s `source`).
pub mod vol_source {
    /// The smile's stored ATM vol: the underlying has no vol feed.
    pub const STORED: u8 = 0;
    /// The vol feed's answer, inside the smile's [min, max].
    pub const FEED: u8 = 1;
    /// The vol feed's answer clamped into the smile's [min, max].
    pub const CLAMPED: u8 = 2;
    /// The stored ATM vol because the vol feed is stale or unreadable.
    pub const FALLBACK: u8 = 3;
}

/// The margin figures every decision of the engine uses (WAD), as the
/// calculator reports them, and whether new risk on the underlying named in
/// the request is blocked by its live deviation guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    /// Equity with IM haircuts.
    pub equity_im: i128,
    /// Equity with MM haircuts.
    pub equity_mm: i128,
    /// Initial margin.
    pub im: i128,
    /// Maintenance margin.
    pub mm: i128,
    /// `equity_mm - mm` (negative: liquidatable).
    pub health: i128,
    /// New risk on the requested underlying is paused (deviation guard tripped
    /// and the account trades it).
    pub blocked: bool,
    /// Equity at mark without haircuts: `equity_mm` plus the MM haircut of
    /// every collateral (amount x price x haircut, rounded down, so it never
    /// exceeds the true value). The solvency measure of liquidation and of
    /// the flag reward: a step never takes it below zero.
    pub equity: i128,
}

/// The engine's error for a failed calculator call: `RiskMathError(kind)`
/// becomes `KeelRiskError(0, kind, 0)`, `RiskInvalidInput(field, index)`
/// becomes `KeelRiskError(1, field, index)`; anything else (no code at the
/// address, empty or foreign revert data, malformed output) `KeelRiskError(3, 0, 0)`.
pub fn calc_error(data: &[u8]) -> EngineError {
    let word = |i: usize| crate::errors::revert_word(data, i);
    let (kind, field, value) = match data.get(..4) {
        Some(s) if s == keel_risk_calc::RiskMathError::SELECTOR => (0, word(0), U256::ZERO),
        Some(s) if s == keel_risk_calc::RiskInvalidInput::SELECTOR => (1, word(0), word(1)),
        _ => (3, U256::ZERO, U256::ZERO),
    };
    EngineError::Risk(KeelRiskError {
        kind,
        field: field.saturating_to::<u8>(),
        value: crate::errors::i256(value.saturating_to::<i128>()),
    })
}

/// Default smile: ATM 80%, no skew or curvature, vol in [10%, 300%].
pub const DEFAULT_SMILE: [i128; 5] = [WAD / 10 * 8, 0, 0, WAD / 10, 3 * WAD];
/// Default EWMA: lambda 0.94 per day, k = 3, 1-day horizon, R in [5%, 50%],
/// R falls at most 20% per day, anti-procyclical floor 25% of the peak.
pub const DEFAULT_EWMA: EwmaParams = EwmaParams {
    lambda: WAD / 100 * 94,
    lambda_interval_seconds: 86_400,
    k: 3 * WAD,
    horizon_seconds: 86_400,
    range_min: WAD / 20,
    range_max: WAD / 2,
    max_fall_per_day: WAD / 5,
    apc_floor_share: WAD / 4,
};

/// keel-risk option kind of an engine instrument kind (1 call, 2 put).
pub fn option_kind(kind: u8) -> OptionKind {
    if kind == 1 {
        OptionKind::Call
    } else {
        OptionKind::Put
    }
}

impl KeelEngine {
    /// Stores the default risk and liquidation parameters (constructor).
    pub(crate) fn set_default_params(&mut self) {
        let p = RiskParams::standard(1);
        self.risk.grid_k.set(alloy_primitives::U32::from(p.grid_k));
        st64(&mut self.risk.time_roll, p.time_roll_seconds);
        let w = [
            p.vol_down,
            p.vol_up,
            p.vol_up_power,
            p.extreme_moves.last().copied().unwrap_or(0),
            p.extreme_cover,
            p.mm_fraction,
            p.max_offset_credit,
            p.short_option_min,
        ];
        for (i, v) in w.iter().enumerate() {
            sta(&mut self.risk.w, i, *v);
        }
        use crate::params::*;
        self.store_liquidation_params(
            DEFAULT_FLAG_REWARD,
            [
                DEFAULT_DISCOUNT_START,
                DEFAULT_DISCOUNT_RATE,
                DEFAULT_DISCOUNT_MAX,
            ],
            DEFAULT_BUFFER,
            DEFAULT_WINDOW,
            DEFAULT_CAP,
            DEFAULT_CLOSE_FACTOR,
        );
    }

    /// Stores liquidation parameters (validated by the caller).
    pub(crate) fn store_liquidation_params(
        &mut self,
        reward: i128,
        discount: [i128; 3],
        buffer: i128,
        window: u64,
        cap: i128,
        close_factor: i128,
    ) {
        st(&mut self.liq.close_factor, close_factor);
        st(&mut self.liq.flag_reward, reward);
        for (i, v) in discount.iter().enumerate() {
            sta(&mut self.liq.discount, i, *v);
        }
        st(&mut self.liq.buffer, buffer);
        st64(&mut self.liq.window, window);
        st(&mut self.liq.cap, cap);
    }

    /// Default smile and EWMA for a new underlying; R starts at the EWMA maximum.
    pub(crate) fn set_default_underlying(&mut self, id: u8) {
        self.store_ewma(id, &DEFAULT_EWMA);
        let mut u = self.underlyings.setter(id);
        for (i, v) in DEFAULT_SMILE.into_iter().enumerate() {
            sta(&mut u.smile, i, v);
        }
        sta(&mut u.state, 2, DEFAULT_EWMA.range_max);
    }

    /// Stores EWMA parameters (validated by the caller).
    pub(crate) fn store_ewma(&mut self, id: u8, p: &EwmaParams) {
        let mut u = self.underlyings.setter(id);
        let w = [
            p.lambda,
            p.k,
            p.range_min,
            p.range_max,
            p.max_fall_per_day,
            p.apc_floor_share,
        ];
        for (i, v) in w.into_iter().enumerate() {
            sta(&mut u.ewma, i, v);
        }
        for (i, v) in [p.lambda_interval_seconds, p.horizon_seconds]
            .into_iter()
            .enumerate()
        {
            if let Some(mut s) = u.ewma_secs.setter(i) {
                s.set(alloy_primitives::U64::from(v));
            }
        }
    }

    /// EWMA parameters of underlying `id`.
    pub(crate) fn ewma_params(&self, id: u8) -> EwmaParams {
        let u = self.underlyings.getter(id);
        EwmaParams {
            lambda: lda(&u.ewma, 0),
            lambda_interval_seconds: u.ewma_secs.get(0usize).map(|v| v.to::<u64>()).unwrap_or(0),
            k: lda(&u.ewma, 1),
            horizon_seconds: u.ewma_secs.get(1usize).map(|v| v.to::<u64>()).unwrap_or(0),
            range_min: lda(&u.ewma, 2),
            range_max: lda(&u.ewma, 3),
            max_fall_per_day: lda(&u.ewma, 4),
            apc_floor_share: lda(&u.ewma, 5),
        }
    }

    /// Correlation of underlyings `a`, `b` (WAD; 1 on the diagonal).
    pub(crate) fn corr(&self, a: u8, b: u8) -> i128 {
        if a == b {
            return WAD;
        }
        ld(&self.correlation.getter(a.min(b) * 16 + a.max(b)))
    }

    /// keel-risk parameters from explicit scalar values (used to validate before storing).
    pub(crate) fn risk_params_from(
        &self,
        grid_k: u32,
        time_roll: u64,
        reduced: bool,
        w: &[i128; 8],
        _n: usize,
    ) -> RiskParams {
        let tiers = self.risk.tier_count.get().to::<usize>();
        RiskParams {
            grid_k,
            vol_down: w[0],
            vol_up: w[1],
            vol_up_power: w[2],
            extreme_moves: alloc::vec![-w[3], w[3]],
            extreme_cover: w[4],
            time_roll_seconds: time_roll,
            mm_mode: if reduced {
                MaintenanceMode::ReducedGrid
            } else {
                MaintenanceMode::FractionOfIm
            },
            mm_fraction: w[5],
            correlation: Vec::new(),
            max_offset_credit: w[6],
            short_option_min: w[7],
            concentration_tiers: (0..tiers)
                .map(|i| ConcentrationTier {
                    threshold: lda(&self.risk.tiers, i),
                    multiplier: lda(&self.risk.tiers, i + 4),
                })
                .collect(),
            es_enabled: false,
            es_confidence: WAD / 1000 * 975,
            es_min_samples: 1,
            es_multiplier: WAD,
        }
    }

    /// Stored keel-risk parameters (correlation left empty: filled per account).
    pub(crate) fn risk_params(&self, n: usize) -> RiskParams {
        let mut w = [0i128; 8];
        for (i, v) in w.iter_mut().enumerate() {
            *v = lda(&self.risk.w, i);
        }
        self.risk_params_from(
            self.risk.grid_k.get().to::<u32>(),
            ld64(&self.risk.time_roll),
            self.risk.mm_reduced_grid.get(),
            &w,
            n,
        )
    }

    /// (feed, decimals, heartbeat) of the spot feed of `u`.
    pub(crate) fn spot_feed(&self, u: u8) -> (Address, u8, u64) {
        let c = self.underlyings.getter(u);
        (
            c.price_feed.get(),
            c.price_decimals.get().to::<u8>(),
            ld64(&c.heartbeat),
        )
    }

    /// Fresh spot of `u` (WAD).
    pub(crate) fn spot(&self, u: u8) -> Result<i128> {
        let (feed, dec, hb) = self.spot_feed(u);
        Ok(self.read_price(feed, dec, hb)?.0)
    }

    /// Whether the deviation guard of `u` is active at `spot` (stored trip, or a
    /// live move beyond `maxDeviation` from the last poked price).
    pub(crate) fn guarded(&self, u: u8, spot: i128) -> Result<bool> {
        let c = self.underlyings.getter(u);
        if self.now() < ld64(&c.guard_until) {
            return Ok(true);
        }
        let last = lda(&c.state, 1);
        if last == 0 {
            return Ok(false);
        }
        let moved = wdiv((spot - last).abs(), last, Rounding::Up)?;
        Ok(moved > ld64(&c.max_deviation) as i128)
    }

    /// Errors `KeelNewRiskPaused` when new risk is paused globally (255) or by
    /// the stored deviation guard of `u`.
    pub(crate) fn check_new_risk(&self, u: u8) -> Result<()> {
        let underlying = if self.paused.get() {
            255
        } else if self.now() < ld64(&self.underlyings.getter(u).guard_until) {
            u
        } else {
            return Ok(());
        };
        Err(EngineError::NewRiskPaused(KeelNewRiskPaused { underlying }))
    }

    /// The ATM implied vol of `u` (WAD) and its source ([`vol_source`]):
    /// the vol feed's answer clamped into the smile's [min, max] (an answer
    /// outside is a feed fault, not a reason to stop margining), or the
    /// smile's stored ATM vol when there is no feed, or when the feed is
    /// stale (its own heartbeat, else the spot feed's) or unreadable. That
    /// fallback never blocks a margin check, so liquidation goes on through a
    /// vol-feed outage; it is charged the oracle-confidence add-on (see
    /// [`Self::underlying_market`]), and the risk admin keeps the stored ATM
    /// vol at a conservative level.
    pub(crate) fn atm_vol(&self, u: u8) -> (i128, u8, i128) {
        let c = self.underlyings.getter(u);
        let stored = lda(&c.smile, 0);
        let feed = c.vol_feed.get();
        if feed.is_zero() {
            return (stored, vol_source::STORED, stored);
        }
        let hb = match ld64(&c.vol_heartbeat) {
            0 => ld64(&c.heartbeat),
            h => h,
        };
        match self.read_price(feed, c.vol_decimals.get().to::<u8>(), hb) {
            Ok((v, _)) => {
                let used = v.clamp(lda(&c.smile, 3), lda(&c.smile, 4));
                let src = if used == v {
                    vol_source::FEED
                } else {
                    vol_source::CLAMPED
                };
                (used, src, v)
            }
            Err(_) => (stored, vol_source::FALLBACK, stored),
        }
    }

    /// Market state of underlying `u` for a margin computation, and whether
    /// its deviation guard is live. The vol feed is read only when
    /// `options` (the account holds options on `u`): a perp-only account
    /// never depends on it. While the guard is live or the vol is a fallback,
    /// the oracle-confidence add-on is charged.
    pub(crate) fn underlying_market(
        &self,
        u: u8,
        options: bool,
    ) -> Result<(UnderlyingMarket, bool)> {
        let spot = self.spot(u)?;
        let guarded = self.guarded(u, spot)?;
        let (atm, src, _) = if options {
            self.atm_vol(u)
        } else {
            (
                lda(&self.underlyings.getter(u).smile, 0),
                vol_source::STORED,
                0,
            )
        };
        let c = self.underlyings.getter(u);
        let smile = Smile {
            atm_vol: atm,
            skew: lda(&c.smile, 1),
            curvature: lda(&c.smile, 2),
            min_vol: lda(&c.smile, 3),
            max_vol: lda(&c.smile, 4),
        };
        let oracle_confidence = if guarded || src == vol_source::FALLBACK {
            ld64(&c.confidence_addon) as i128
        } else {
            0
        };
        Ok((
            UnderlyingMarket {
                spot,
                smile,
                scan_range: lda(&c.state, 2),
                oracle_confidence,
            },
            guarded,
        ))
    }

    /// Static-calls the risk calculator with `data`.
    ///
    /// # Errors
    /// `KeelRiskError` (see [`calc_error`]).
    pub(crate) fn calc(&self, data: &[u8]) -> Result<Vec<u8>> {
        static_call(self.vm(), Call::new(), self.risk_calc.get(), data).map_err(|e| match e {
            stylus_sdk::stylus_core::calls::errors::Error::Revert(d) => calc_error(&d),
            _ => calc_error(&[]),
        })
    }

    /// The margin figures of `account`, from the margin program (see
    /// [`Self::figures`]). The single place where the accounts and keeper
    /// programs learn an account's margin.
    ///
    /// # Errors
    /// Oracle/sequencer errors for every feed the account needs; `KeelRiskError`.
    pub(crate) fn margin_of(&self, account: U256) -> Result<Figures> {
        self.figures(account, None)
    }

    /// The margin figures of `account` and the new-risk block of `new_risk`,
    /// computed by the margin program (`keel_engine_margin`) run by
    /// `delegatecall` on this storage: `marginFigures(account, new_risk or
    /// 255)`. Why a call: gathering an account's inputs (positions, oracles,
    /// parameters) and the calculator codec are the bulk of the margin code,
    /// and only the margin program has room for it (24,576-byte limit).
    /// Pending storage writes are flushed first (the SDK's `delegate_call`
    /// rule), so the figures are those of the state just written.
    ///
    /// # Errors
    /// The margin program's error, decoded ([`EngineError::from_revert_data`]).
    pub(crate) fn figures(&self, account: U256, new_risk: Option<u8>) -> Result<Figures> {
        use alloy_sol_types::SolCall;
        let mut data = Vec::with_capacity(68);
        data.extend_from_slice(&crate::abi::IKeelEngine::marginFiguresCall::SELECTOR);
        data.extend_from_slice(&account.to_be_bytes::<32>());
        data.extend_from_slice(&U256::from(new_risk.unwrap_or(NO_UNDERLYING)).to_be_bytes::<32>());
        let out = self.margin_call(&data)?;
        let a = Args(&out);
        let w = |i: usize| a.i128(i).map_err(|_| calc_error(&[]));
        Ok(Figures {
            equity_im: w(0)?,
            equity_mm: w(1)?,
            im: w(2)?,
            mm: w(3)?,
            health: w(4)?,
            blocked: a.bool(5).map_err(|_| calc_error(&[]))?,
            equity: w(6)?,
        })
    }

    /// Runs `data` (a margin-program call) in the margin program by
    /// `delegatecall` on this storage, pending writes flushed first.
    ///
    /// # Errors
    /// The margin program's error, decoded ([`EngineError::from_revert_data`]).
    fn margin_call(&self, data: &[u8]) -> Result<Vec<u8>> {
        let vm = self.vm();
        vm.flush_cache(true);
        // SAFETY: the margin module is set once by the constructor and is the
        // engine's own program over this storage layout; it only reads.
        unsafe { RawCall::new_delegate(vm).call(self.margin_module.get(), data) }
            .map_err(|d| EngineError::from_revert_data(&d))
    }

    /// [`Self::price_band`] from the margin program (the accounts program
    /// has no room for marks): (mark, spot, low, high), WAD.
    ///
    /// # Errors
    /// As [`Self::figures`].
    pub(crate) fn band(&self, instrument: u32) -> Result<(i128, i128, i128, i128)> {
        use alloy_sol_types::SolCall;
        let mut data = Vec::with_capacity(36);
        data.extend_from_slice(&crate::abi::IKeelEngine::priceBandCall::SELECTOR);
        data.extend_from_slice(&U256::from(instrument).to_be_bytes::<32>());
        let out = self.margin_call(&data)?;
        let a = Args(&out);
        let w = |i: usize| a.i128(i).map_err(|_| calc_error(&[]));
        Ok((w(0)?, w(1)?, w(2)?, w(3)?))
    }

    /// [`Self::figures`] computed here: what the margin program answers.
    ///
    /// # Errors
    /// Oracle/sequencer errors for every feed the account needs; `KeelRiskError`.
    pub(crate) fn figures_here(&self, account: U256, new_risk: Option<u8>) -> Result<Figures> {
        let g = self.gather(account, new_risk)?;
        let r = self.margin_with(&g)?;
        let mut equity = r.equity_mm;
        for c in &g.inputs.portfolio.collaterals {
            let value = wmul(c.amount, c.price, Rounding::Down)?;
            equity = equity.saturating_add(wmul(value, c.mm_haircut, Rounding::Down)?);
        }
        Ok(Figures {
            equity_im: r.equity_im,
            equity_mm: r.equity_mm,
            im: r.im,
            mm: r.mm,
            health: r.health,
            blocked: g.blocked,
            equity,
        })
    }

    /// The band every reported trade price of `instrument` must lie in:
    /// (mark, spot, low, high), WAD. Half width = the underlying's
    /// `price_band` (or, when unset, its current scan range R) x spot,
    /// rounded down; for options too it is measured in spot (an option's
    /// value moves by at most |delta| <= 1 times a spot move), so a band
    /// never excludes fair prices of cheap options. `low` is at least 1.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn price_band(&self, instrument: u32) -> Result<(i128, i128, i128, i128)> {
        let (mark, spot, u) = self.mark(instrument, 0)?;
        let c = self.underlyings.getter(u);
        let band = match ld64(&c.price_band) {
            0 => lda(&c.state, 2),
            b => b as i128,
        };
        let hw = wmul(band, spot, Rounding::Down)?;
        Ok((mark, spot, (mark - hw).max(1), mark.saturating_add(hw)))
    }

    /// The calculator's margin for gathered inputs.
    pub(crate) fn margin_with(&self, g: &Gathered) -> Result<MarginOutput> {
        let out = self.calc(&codec::encode_account_margin(&g.inputs))?;
        MarginOutput::decode(&out).ok_or_else(|| calc_error(&[]))
    }

    /// Reads everything the margin of `account` depends on: positions (netted
    /// by the calculator), collateral at oracle prices, settlement cash, the
    /// market data of each underlying it touches (spot, smile with the live ATM
    /// vol, scan range, oracle-confidence add-on while guarded), parameters and
    /// the correlation sub-matrix. `new_risk` = underlying whose live deviation
    /// guard should refuse new risk (reported in [`Gathered::blocked`]).
    ///
    /// # Errors
    /// Oracle/sequencer errors for every feed the account needs.
    pub(crate) fn gather(&self, account: U256, new_risk: Option<u8>) -> Result<Gathered> {
        let ids = self.position_list(account);
        let mask = self
            .accounts
            .getter(account)
            .collateral_mask
            .get()
            .to::<u8>();
        if !ids.is_empty() || mask != 0 {
            self.check_sequencer()?;
        }
        let mut map: Vec<u8> = Vec::new();
        let mut positions = Vec::with_capacity(ids.len());
        for id in ids {
            let (u, k, strike, expiry) = self.instrument_terms(id);
            let idx = match map.iter().position(|m| *m == u) {
                Some(i) => i,
                None => {
                    map.push(u);
                    map.len() - 1
                }
            };
            let (size, entry) = self.position(account, id);
            positions.push(Position {
                underlying: idx as u32,
                instrument: if k == 0 {
                    Instrument::Perp
                } else {
                    Instrument::Option {
                        kind: option_kind(k),
                        strike,
                        expiry,
                    }
                },
                size,
                entry_price: entry,
            });
        }
        let mut underlyings = Vec::with_capacity(map.len());
        let mut blocked = false;
        for (i, u) in map.iter().enumerate() {
            let options = positions
                .iter()
                .any(|p| p.underlying == i as u32 && !matches!(p.instrument, Instrument::Perp));
            let (m, g) = self.underlying_market(*u, options)?;
            blocked |= g && new_risk == Some(*u);
            underlyings.push(m);
        }
        let mut collaterals = Vec::new();
        for id in 1..crate::params::MAX_COLLATERALS {
            if mask & (1 << id) == 0 {
                continue;
            }
            let bal = self.accounts.getter(account).collateral.get(id);
            let amount = self.token_to_wad(id, bal)?;
            let c = self.collaterals.getter(id);
            let (price, _) = self.read_price(
                c.price_feed.get(),
                c.feed_decimals.get().to::<u8>(),
                ld64(&c.heartbeat),
            )?;
            collaterals.push(Collateral {
                amount,
                price,
                im_haircut: ld64(&c.im_haircut) as i128,
                mm_haircut: ld64(&c.mm_haircut) as i128,
            });
        }
        let n = map.len();
        let mut params = self.risk_params(n);
        params.correlation = (0..n * n)
            .map(|i| self.corr(map[i / n], map[i % n]))
            .collect();
        let inputs = Inputs {
            portfolio: Portfolio {
                collaterals,
                cash: self.cash_of(account),
                positions,
            },
            market: MarketData {
                now: self.now(),
                underlyings,
                history: Vec::new(),
            },
            params,
        };
        Ok(Gathered {
            inputs,
            map,
            blocked,
        })
    }

    /// (underlying, kind, strike, expiry) of instrument `id`.
    pub(crate) fn instrument_terms(&self, id: u32) -> (u8, u8, i128, u64) {
        let i = self.instruments.getter(id);
        (
            i.underlying.get().to::<u8>(),
            i.kind.get().to::<u8>(),
            ld(&i.strike),
            ld64(&i.expiry),
        )
    }

    /// Requires IM: equity (IM view) >= IM, and, when `new_risk` is set, that the
    /// live deviation guard of that underlying is not tripped.
    ///
    /// # Errors
    /// `KeelInsufficientMargin(account, equity, requirement)`; `KeelNewRiskPaused`;
    /// oracle errors; `KeelRiskError`.
    pub(crate) fn require_im(&self, account: U256, new_risk: Option<u8>) -> Result<()> {
        self.require_margin(account, new_risk, None)
    }

    /// The margin rule after any change an account's owner or market makes:
    /// the account holds IM, or — only when `before` (its figures before the
    /// change) shows it already below IM — the change did not lower its
    /// health and left its MM-view equity non-negative. So a reduction may
    /// always bring a distressed account closer to safety, but no change can
    /// move value out of an account that cannot afford it (an off-market
    /// close between colluding accounts, a fee) and leave bad debt behind.
    ///
    /// # Errors
    /// As [`Self::require_im`].
    pub(crate) fn require_margin(
        &self,
        account: U256,
        new_risk: Option<u8>,
        before: Option<&Figures>,
    ) -> Result<()> {
        let r = self.figures(account, new_risk)?;
        if r.blocked {
            return Err(EngineError::NewRiskPaused(KeelNewRiskPaused {
                underlying: new_risk.unwrap_or(NO_UNDERLYING),
            }));
        }
        let recovering =
            before.is_some_and(|b| b.equity_im < b.im && r.health >= b.health && r.equity_mm >= 0);
        if r.equity_im < r.im && !recovering {
            return Err(EngineError::InsufficientMargin(KeelInsufficientMargin {
                account,
                equity: crate::errors::i256(r.equity_im),
                requirement: crate::errors::i256(r.im),
            }));
        }
        Ok(())
    }

    /// Earliest time of the next poke of `u`.
    pub(crate) fn next_poke(&self, u: u8) -> u64 {
        let last = ld64(&self.underlyings.getter(u).last_poke);
        if last == 0 {
            0
        } else {
            last + crate::params::MIN_POKE_INTERVAL
        }
    }

    /// Applies an accepted oracle price to the EWMA state of `u`; trips the
    /// deviation guard on a large move. Returns the new state and whether it tripped.
    pub(crate) fn update_dynamics(
        &mut self,
        u: u8,
        price: i128,
        now: u64,
    ) -> Result<(EwmaState, bool)> {
        let params = self.ewma_params(u);
        let (old, last_poke, atm, max_dev, cooldown) = {
            let c = self.underlyings.getter(u);
            (
                EwmaState {
                    variance_per_second: lda(&c.state, 0),
                    last_price: lda(&c.state, 1),
                    last_update: ld64(&c.last_poke),
                    scan_range: lda(&c.state, 2),
                    peak_range: lda(&c.state, 3),
                },
                ld64(&c.last_poke),
                lda(&c.smile, 0),
                ld64(&c.max_deviation) as i128,
                ld64(&c.guard_cooldown),
            )
        };
        let out = self.calc(&codec::encode_ewma_update(now, price, atm, &params, &old))?;
        let w = crate::abi::Args(&out)
            .i128_array(0)
            .map_err(|_| calc_error(&[]))?;
        let &[variance_per_second, last_price, last_update, scan_range, peak_range] = w.as_slice()
        else {
            return Err(calc_error(&[]));
        };
        let state = EwmaState {
            variance_per_second,
            last_price,
            last_update: u64::try_from(last_update).map_err(|_| calc_error(&[]))?,
            scan_range,
            peak_range,
        };
        let tripped = last_poke != 0
            && wdiv((price - old.last_price).abs(), old.last_price, Rounding::Up)? > max_dev;
        let mut c = self.underlyings.setter(u);
        for (i, v) in [
            state.variance_per_second,
            state.last_price,
            state.scan_range,
            state.peak_range,
        ]
        .into_iter()
        .enumerate()
        {
            sta(&mut c.state, i, v);
        }
        st64(&mut c.last_poke, now);
        if tripped {
            st64(&mut c.guard_until, now + cooldown);
        }
        Ok((state, tripped))
    }

    /// Mark price of `instrument` for a holder of signed `size` (perp: spot;
    /// option: the calculator's Black-76 at the smile vol, bounded outside
    /// the model's domain as margin values it: the holder's worse bound) and
    /// the spot and id of its underlying.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub(crate) fn mark(&self, instrument: u32, size: i128) -> Result<(i128, i128, u8)> {
        let (u, k, strike, expiry) = self.instrument_terms(instrument);
        let (m, _) = self.underlying_market(u, k != 0)?;
        if k == 0 {
            return Ok((m.spot, m.spot, u));
        }
        let out = self.calc(&codec::encode_mark_price(
            self.now(),
            &m,
            k,
            strike,
            expiry,
            size,
        ))?;
        let px = crate::abi::Args(&out)
            .i128(0)
            .map_err(|_| calc_error(&[]))?;
        Ok((px, m.spot, u))
    }

    /// Anti-cascade cap of `u` for this window: base cap x clamp(R / R_min, 1, 4).
    /// Larger in stress so that necessary deleveraging is not blocked in a
    /// crash, while a calm-market burst (e.g. a manipulated print) stays capped.
    pub(crate) fn liquidation_cap(&self, u: u8) -> Result<i128> {
        let c = self.underlyings.getter(u);
        let scale =
            wdiv(lda(&c.state, 2), lda(&c.ewma, 2).max(1), Rounding::Down)?.clamp(WAD, 4 * WAD);
        Ok(wmul(ld(&self.liq.cap), scale, Rounding::Down)?)
    }
}
