//! The public (Solidity-facing) interface of the engine.
//!
//! Lint note: `#[public]` generates an undocumented `print_from_args` under
//! `export-abi`, hence the module-level `allow(missing_docs)`; every method
//! here is documented (its doc is the interface documentation).
#![allow(missing_docs)]

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use stylus_sdk::prelude::*;

use crate::errors::{
    self, kind, unauthorized, EngineError, KeelDepositCapExceeded, KeelInsufficientBalance,
    KeelInvalidAddress, KeelInvalidAmount, KeelInvalidExpiry, KeelPokeTooSoon, KeelSettlementPrice,
};
use crate::events::*;
use crate::params::{self, check, field, MAX_COLLATERALS, MAX_UNDERLYINGS};
use crate::{account_id, ld, ld64, lda, st, st64, sta, KeelEngine};

/// Engine result (named `R` here: the SDK macros expect `Result` to be std's).
type R<T> = errors::Result<T>;

#[public]
impl KeelEngine {
    /// Initialises roles and the settlement token (collateral id 0) with the
    /// default risk and liquidation parameters. The SDK runs it once, at deploy.
    ///
    /// # Errors
    /// `KeelInvalidAddress` for a zero owner or token; `KeelParameterOutOfBounds`
    /// when the token reports more than 18 decimals; `KeelOracleInvalid` when its
    /// `decimals()` cannot be read.
    ///
    /// # Events
    /// `OwnershipTransferred(0, owner)`, `CollateralSet(0, ...)`.
    #[constructor]
    pub fn constructor(
        &mut self,
        owner: Address,
        settlement_token: Address,
        sequencer_feed: Address,
    ) -> R<()> {
        if owner.is_zero() || settlement_token.is_zero() {
            return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
        }
        if !self.owner.get().is_zero() {
            return Err(unauthorized(self.vm().msg_sender()));
        }
        let dec = self.read_decimals(settlement_token)?;
        self.owner.set(owner);
        self.risk_admin.set(owner);
        self.guardian.set(owner);
        self.sequencer.set(sequencer_feed);
        self.sequencer_grace
            .set(alloy_primitives::U32::from(3_600u32));
        st(&mut self.loss_index, keel_risk::WAD);
        {
            let mut c = self.collaterals.setter(0);
            c.token.set(settlement_token);
            c.decimals.set(alloy_primitives::U8::from(dec));
            c.cap.set(U256::MAX);
        }
        self.collateral_count.set(alloy_primitives::U8::from(1u8));
        self.set_default_params();
        self.vm().log(OwnershipTransferred {
            previousOwner: Address::ZERO,
            newOwner: owner,
        });
        self.emit_collateral(0);
        Ok(())
    }

    // ------------------------------------------------------------ roles

    /// Current owner.
    pub fn owner(&self) -> Address {
        self.owner.get()
    }

    /// Pending owner of a two-step transfer (zero if none).
    pub fn pending_owner(&self) -> Address {
        self.pending_owner.get()
    }

    /// Risk admin (parameters and listings; the owner also may).
    pub fn risk_admin(&self) -> Address {
        self.risk_admin.get()
    }

    /// Guardian (may pause new risk; the owner also may).
    pub fn guardian(&self) -> Address {
        self.guardian.get()
    }

    /// Starts a two-step ownership transfer (owner only).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount` if the caller is not the owner.
    ///
    /// # Events
    /// `OwnershipTransferStarted`.
    pub fn transfer_ownership(&mut self, new_owner: Address) -> R<()> {
        self.only(self.owner.get())?;
        self.pending_owner.set(new_owner);
        self.vm().log(OwnershipTransferStarted {
            previousOwner: self.owner.get(),
            newOwner: new_owner,
        });
        Ok(())
    }

    /// Completes the transfer (pending owner only).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount` if the caller is not the pending owner.
    ///
    /// # Events
    /// `OwnershipTransferred`.
    pub fn accept_ownership(&mut self) -> R<()> {
        let p = self.pending_owner.get();
        if p.is_zero() {
            return Err(unauthorized(self.vm().msg_sender()));
        }
        self.only(p)?;
        let prev = self.owner.get();
        self.owner.set(p);
        self.pending_owner.set(Address::ZERO);
        self.vm().log(OwnershipTransferred {
            previousOwner: prev,
            newOwner: p,
        });
        Ok(())
    }

    /// Sets role `role` (1 risk admin, 2 guardian) to `account` (owner only).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount` (not owner); `KeelInvalidAddress` (zero account);
    /// `KeelParameterOutOfBounds(ID)` for another role number.
    ///
    /// # Events
    /// `RoleSet`.
    pub fn set_role(&mut self, role: u8, account: Address) -> R<()> {
        self.only(self.owner.get())?;
        if account.is_zero() {
            return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
        }
        match role {
            1 => self.risk_admin.set(account),
            2 => self.guardian.set(account),
            _ => return Err(errors::out_of_bounds(field::ID, role as i128, 1, 2)),
        }
        self.vm().log(RoleSet { role, account });
        Ok(())
    }

    /// Pauses or resumes new risk (guardian or owner). Liquidation, deposits,
    /// settlement and withdrawals that keep IM are never paused.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`.
    ///
    /// # Events
    /// `PauseSet`.
    pub fn set_paused(&mut self, paused: bool) -> R<()> {
        let s = self.vm().msg_sender();
        if s != self.guardian.get() && s != self.owner.get() {
            return Err(unauthorized(s));
        }
        self.paused.set(paused);
        self.vm().log(PauseSet { paused });
        Ok(())
    }

    /// Whether new risk is paused globally.
    pub fn paused(&self) -> bool {
        self.paused.get()
    }

    /// Authorises or revokes a market contract (owner only).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelInvalidAddress` for zero.
    ///
    /// # Events
    /// `MarketSet`.
    pub fn set_market(&mut self, market: Address, authorised: bool) -> R<()> {
        self.only(self.owner.get())?;
        if market.is_zero() {
            return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
        }
        self.markets.setter(market).set(authorised);
        self.vm().log(MarketSet { market, authorised });
        Ok(())
    }

    /// Whether `market` may report trades.
    pub fn is_market(&self, market: Address) -> bool {
        self.markets.get(market)
    }

    // ------------------------------------------------------------ registries

    /// Sets the sequencer-uptime feed (zero disables the check) and the grace
    /// period after a restart, seconds in [0, 86400] (risk admin).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds(GRACE)`.
    ///
    /// # Events
    /// `ParamsSet(2)`.
    pub fn set_sequencer(&mut self, feed: Address, grace: u32) -> R<()> {
        self.only_risk_admin()?;
        check(field::GRACE, grace as i128, 0, 86_400)?;
        self.sequencer.set(feed);
        self.sequencer_grace.set(alloy_primitives::U32::from(grace));
        self.vm().log(ParamsSet { which: 2 });
        Ok(())
    }

    /// Lists (id = current count) or updates (id < count) a collateral (risk admin).
    /// Id 0 is the settlement token: only its cap may change (haircuts must be 0).
    /// Haircuts are WAD: 0 <= mm <= im <= 0.95; heartbeat in [60, 172800] s.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds` (field codes in
    /// `params::field`); `KeelCapacityExceeded(0, 8)` when the registry is full;
    /// `KeelOracleInvalid` when `decimals()` of the token or feed cannot be read.
    ///
    /// # Events
    /// `CollateralSet`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_collateral(
        &mut self,
        id: u8,
        token: Address,
        price_feed: Address,
        heartbeat: u64,
        im_haircut: u64,
        mm_haircut: u64,
        deposit_cap: U256,
    ) -> R<()> {
        self.only_risk_admin()?;
        let count = self.collateral_count.get().to::<u8>();
        check(field::ID, id as i128, 0, count as i128)?;
        if id == MAX_COLLATERALS {
            return Err(EngineError::CapacityExceeded(
                errors::KeelCapacityExceeded {
                    kind: kind::COLLATERAL,
                    max: U256::from(MAX_COLLATERALS),
                },
            ));
        }
        let (im, mm) = (im_haircut as i128, mm_haircut as i128);
        if id == 0 {
            check(field::SETTLEMENT_HAIRCUT, im.max(mm), 0, 0)?;
        } else {
            check(field::IM_HAIRCUT, im, 0, keel_risk::WAD / 100 * 95)?;
            check(field::MM_HAIRCUT, mm, 0, im)?;
            check(field::HEARTBEAT, heartbeat as i128, 60, 172_800)?;
        }
        let (tdec, fdec) = if id < count {
            let old = self.collaterals.getter(id).token.get();
            if old != token {
                return Err(errors::out_of_bounds(field::TOKEN, 0, 0, 0));
            }
            (self.collaterals.getter(id).decimals.get().to::<u8>(), 0)
        } else {
            if token.is_zero() {
                return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
            }
            (self.read_decimals(token)?, 0)
        };
        let fdec = if id == 0 {
            fdec
        } else {
            self.read_decimals(price_feed)?
        };
        {
            let mut c = self.collaterals.setter(id);
            c.token.set(token);
            c.decimals.set(alloy_primitives::U8::from(tdec));
            c.feed_decimals.set(alloy_primitives::U8::from(fdec));
            c.price_feed.set(price_feed);
            st64(&mut c.heartbeat, heartbeat);
            st64(&mut c.im_haircut, im_haircut);
            st64(&mut c.mm_haircut, mm_haircut);
            c.cap.set(deposit_cap);
        }
        if id == count {
            self.collateral_count
                .set(alloy_primitives::U8::from(count + 1));
        }
        self.emit_collateral(id);
        Ok(())
    }

    /// Collateral `id`: (token, price feed, decimals, IM haircut, MM haircut, cap, total held).
    pub fn collateral(&self, id: u8) -> R<(Address, Address, u8, u64, u64, U256, U256)> {
        self.collateral_exists(id)?;
        let c = self.collaterals.getter(id);
        Ok((
            c.token.get(),
            c.price_feed.get(),
            c.decimals.get().to::<u8>(),
            ld64(&c.im_haircut),
            ld64(&c.mm_haircut),
            c.cap.get(),
            c.total.get(),
        ))
    }

    /// Number of listed collaterals, underlyings and instruments.
    pub fn registry_counts(&self) -> (u8, u8, u32) {
        (
            self.collateral_count.get().to::<u8>(),
            self.underlying_count.get().to::<u8>(),
            self.instrument_count.get().to::<u32>(),
        )
    }

    /// Lists (id = count) or updates an underlying's oracle setup (risk admin).
    /// `maxDeviation` in [0.005, 0.5] (WAD), `confidenceAddon` in [0, 0.5] (WAD),
    /// `guardCooldown` in [60, 86400] s, heartbeat in [60, 172800] s. A new
    /// underlying starts with the default smile (ATM 80%) and EWMA parameters
    /// and with its scan range at the EWMA maximum until the first `poke`.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds`;
    /// `KeelCapacityExceeded(1, 8)`; `KeelOracleInvalid` (feed decimals unreadable).
    ///
    /// # Events
    /// `UnderlyingSet`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_underlying(
        &mut self,
        id: u8,
        price_feed: Address,
        vol_feed: Address,
        heartbeat: u64,
        max_deviation: u64,
        guard_cooldown: u64,
        confidence_addon: u64,
    ) -> R<()> {
        self.only_risk_admin()?;
        let count = self.underlying_count.get().to::<u8>();
        check(field::ID, id as i128, 0, count as i128)?;
        if id == MAX_UNDERLYINGS {
            return Err(EngineError::CapacityExceeded(
                errors::KeelCapacityExceeded {
                    kind: kind::UNDERLYING,
                    max: U256::from(MAX_UNDERLYINGS),
                },
            ));
        }
        check(field::HEARTBEAT, heartbeat as i128, 60, 172_800)?;
        let w = keel_risk::WAD;
        check(field::MAX_DEVIATION, max_deviation as i128, w / 200, w / 2)?;
        check(field::GUARD_COOLDOWN, guard_cooldown as i128, 60, 86_400)?;
        check(field::CONFIDENCE_ADDON, confidence_addon as i128, 0, w / 2)?;
        if price_feed.is_zero() {
            return Err(EngineError::InvalidAddress(KeelInvalidAddress {}));
        }
        let pdec = self.read_decimals(price_feed)?;
        let vdec = if vol_feed.is_zero() {
            0
        } else {
            self.read_decimals(vol_feed)?
        };
        {
            let mut u = self.underlyings.setter(id);
            u.price_feed.set(price_feed);
            u.vol_feed.set(vol_feed);
            u.price_decimals.set(alloy_primitives::U8::from(pdec));
            u.vol_decimals.set(alloy_primitives::U8::from(vdec));
            st64(&mut u.heartbeat, heartbeat);
            st64(&mut u.max_deviation, max_deviation);
            st64(&mut u.guard_cooldown, guard_cooldown);
            st64(&mut u.confidence_addon, confidence_addon);
        }
        if id == count {
            self.underlying_count
                .set(alloy_primitives::U8::from(count + 1));
            self.set_default_underlying(id);
        }
        self.vm().log(UnderlyingSet {
            id,
            priceFeed: price_feed,
            volFeed: vol_feed,
        });
        Ok(())
    }

    /// Sets the smile of underlying `id` (risk admin): ATM vol (used when no vol
    /// feed), skew, curvature, min and max vol, WAD; bounds are keel-risk's
    /// `Smile::validate`.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry`; `KeelRiskError` (bounds).
    ///
    /// # Events
    /// `UnderlyingSet`.
    pub fn set_smile(
        &mut self,
        id: u8,
        atm_vol: i128,
        skew: i128,
        curvature: i128,
        min_vol: i128,
        max_vol: i128,
    ) -> R<()> {
        self.only_risk_admin()?;
        self.underlying_exists(id)?;
        let s = keel_risk::Smile {
            atm_vol,
            skew,
            curvature,
            min_vol,
            max_vol,
        };
        s.validate()?;
        let mut u = self.underlyings.setter(id);
        for (i, v) in [atm_vol, skew, curvature, min_vol, max_vol]
            .into_iter()
            .enumerate()
        {
            sta(&mut u.smile, i, v);
        }
        let (pf, vf) = (u.price_feed.get(), u.vol_feed.get());
        drop(u);
        self.vm().log(UnderlyingSet {
            id,
            priceFeed: pf,
            volFeed: vf,
        });
        Ok(())
    }

    /// Sets the EWMA / scan-range parameters of underlying `id` (risk admin);
    /// bounds are keel-risk's `EwmaParams::validate`. The current scan range is
    /// re-clamped into the new [min, max].
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry`; `KeelRiskError` (bounds).
    ///
    /// # Events
    /// `ParamsSet(0)`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_ewma(
        &mut self,
        id: u8,
        lambda: i128,
        lambda_interval: u64,
        k: i128,
        horizon: u64,
        range_min: i128,
        range_max: i128,
        max_fall_per_day: i128,
        apc_floor_share: i128,
    ) -> R<()> {
        self.only_risk_admin()?;
        self.underlying_exists(id)?;
        let p = keel_risk::ewma::EwmaParams {
            lambda,
            lambda_interval_seconds: lambda_interval,
            k,
            horizon_seconds: horizon,
            range_min,
            range_max,
            max_fall_per_day,
            apc_floor_share,
        };
        p.validate()?;
        self.store_ewma(id, &p);
        let mut u = self.underlyings.setter(id);
        let r = lda(&u.state, 2).clamp(range_min, range_max);
        sta(&mut u.state, 2, r);
        drop(u);
        self.vm().log(ParamsSet { which: 0 });
        Ok(())
    }

    /// Underlying `id`: (spot feed, vol feed, last poked price, variance per
    /// second, scan range, last poke time, guard-until time).
    pub fn underlying(&self, id: u8) -> R<(Address, Address, i128, i128, i128, u64, u64)> {
        self.underlying_exists(id)?;
        let u = self.underlyings.getter(id);
        Ok((
            u.price_feed.get(),
            u.vol_feed.get(),
            lda(&u.state, 1),
            lda(&u.state, 0),
            lda(&u.state, 2),
            ld64(&u.last_poke),
            ld64(&u.guard_until),
        ))
    }

    /// Sets the correlation of underlyings `a != b` (WAD in [-1, 1]; symmetric) (risk admin).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry`; `KeelParameterOutOfBounds(CORRELATION)`.
    ///
    /// # Events
    /// `CorrelationSet`.
    pub fn set_correlation(&mut self, a: u8, b: u8, rho: i128) -> R<()> {
        self.only_risk_admin()?;
        self.underlying_exists(a)?;
        self.underlying_exists(b)?;
        let w = keel_risk::WAD;
        check(field::CORRELATION, if a == b { 2 * w } else { rho }, -w, w)?;
        st(&mut self.correlation.setter(a.min(b) * 16 + a.max(b)), rho);
        self.vm().log(CorrelationSet { a, b, rho });
        Ok(())
    }

    /// Correlation of `a` and `b` (WAD; 1 on the diagonal).
    pub fn correlation(&self, a: u8, b: u8) -> i128 {
        self.corr(a, b)
    }

    /// Sets the portfolio risk parameters (risk admin). WAD fractions; bounds are
    /// keel-risk's `RiskParams::validate` (grid k in [1, 16], vol shocks, extreme
    /// move m gives extremes ±m x R, MM fraction in [0.01, 1], ...).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelRiskError` (bounds).
    ///
    /// # Events
    /// `ParamsSet(0)`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_risk_params(
        &mut self,
        grid_k: u32,
        vol_down: i128,
        vol_up: i128,
        vol_up_power: i128,
        extreme_move: i128,
        extreme_cover: i128,
        time_roll: u64,
        mm_reduced_grid: bool,
        mm_fraction: i128,
        max_offset_credit: i128,
        short_option_min: i128,
    ) -> R<()> {
        self.only_risk_admin()?;
        let w = [
            vol_down,
            vol_up,
            vol_up_power,
            extreme_move,
            extreme_cover,
            mm_fraction,
            max_offset_credit,
            short_option_min,
        ];
        let mut p = self.risk_params_from(grid_k, time_roll, mm_reduced_grid, &w, 1);
        p.correlation = alloc::vec![keel_risk::WAD];
        p.validate()?;
        self.risk.grid_k.set(alloy_primitives::U32::from(grid_k));
        st64(&mut self.risk.time_roll, time_roll);
        self.risk.mm_reduced_grid.set(mm_reduced_grid);
        for (i, v) in w.iter().enumerate() {
            sta(&mut self.risk.w, i, *v);
        }
        self.vm().log(ParamsSet { which: 0 });
        Ok(())
    }

    /// Sets up to 4 concentration tiers (thresholds strictly increasing, WAD
    /// notional; multipliers non-decreasing in [1, 10]) (risk admin).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelCapacityExceeded`; `KeelRiskError` (bounds).
    ///
    /// # Events
    /// `ParamsSet(0)`.
    pub fn set_concentration_tiers(
        &mut self,
        thresholds: Vec<i128>,
        multipliers: Vec<i128>,
    ) -> R<()> {
        self.only_risk_admin()?;
        if thresholds.len() != multipliers.len() || thresholds.len() > 4 {
            return Err(EngineError::CapacityExceeded(
                errors::KeelCapacityExceeded {
                    kind: 4,
                    max: U256::from(4u8),
                },
            ));
        }
        let mut p = self.risk_params(1);
        p.correlation = alloc::vec![keel_risk::WAD];
        p.concentration_tiers = thresholds
            .iter()
            .zip(&multipliers)
            .map(|(t, m)| keel_risk::portfolio::ConcentrationTier {
                threshold: *t,
                multiplier: *m,
            })
            .collect();
        p.validate()?;
        for (i, (t, m)) in thresholds.iter().zip(&multipliers).enumerate() {
            sta(&mut self.risk.tiers, i, *t);
            sta(&mut self.risk.tiers, i + 4, *m);
        }
        self.risk
            .tier_count
            .set(alloy_primitives::U8::from(thresholds.len() as u8));
        self.vm().log(ParamsSet { which: 0 });
        Ok(())
    }

    /// Sets the liquidation parameters (risk admin): keeper reward for a flag
    /// (cash, [0, 1000]); discount at flag time <= cap <= 0.5 and growth per
    /// second in [0, 0.01] (WAD fractions of spot); buffer above MM in [0, 1];
    /// anti-cascade window in [60, 86400] s and base cap (notional, > 0).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds`.
    ///
    /// # Events
    /// `ParamsSet(1)`.
    #[allow(clippy::too_many_arguments)]
    pub fn set_liquidation_params(
        &mut self,
        flag_reward: i128,
        discount_start: i128,
        discount_per_second: i128,
        discount_max: i128,
        buffer: i128,
        window: u64,
        cap: i128,
    ) -> R<()> {
        self.only_risk_admin()?;
        let w = keel_risk::WAD;
        check(field::FLAG_REWARD, flag_reward, 0, 1_000 * w)?;
        check(field::DISCOUNT, discount_max, 0, w / 2)?;
        check(field::DISCOUNT, discount_start, 0, discount_max)?;
        check(field::DISCOUNT_RATE, discount_per_second, 0, w / 100)?;
        check(field::BUFFER, buffer, 0, w)?;
        check(field::WINDOW, window as i128, 60, 86_400)?;
        check(field::CAP, cap, 1, params::MAX_PRICE)?;
        self.store_liquidation_params(
            flag_reward,
            [discount_start, discount_per_second, discount_max],
            buffer,
            window,
            cap,
        );
        self.vm().log(ParamsSet { which: 1 });
        Ok(())
    }

    /// Lists an instrument (risk admin): kind 0 perp (strike and expiry 0), 1 call,
    /// 2 put (strike in (0, 1e15] WAD, expiry in [now + 1 h, now + 2 y]). Returns its id.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry`; `KeelParameterOutOfBounds`;
    /// `KeelCapacityExceeded(2, ...)`.
    ///
    /// # Events
    /// `InstrumentListed`.
    pub fn list_instrument(
        &mut self,
        underlying: u8,
        kind: u8,
        strike: i128,
        expiry: u64,
    ) -> R<u32> {
        self.only_risk_admin()?;
        self.underlying_exists(underlying)?;
        check(field::KIND, kind as i128, 0, 2)?;
        let now = self.now() as i128;
        if kind == 0 {
            check(field::STRIKE, strike, 0, 0)?;
            check(field::EXPIRY, expiry as i128, 0, 0)?;
        } else {
            check(field::STRIKE, strike, 1, params::MAX_PRICE)?;
            check(
                field::EXPIRY,
                expiry as i128,
                now + params::MIN_EXPIRY_SECONDS as i128,
                now + params::MAX_EXPIRY_SECONDS as i128,
            )?;
        }
        let id = self.instrument_count.get().to::<u32>();
        if id >= params::MAX_INSTRUMENTS {
            return Err(EngineError::CapacityExceeded(
                errors::KeelCapacityExceeded {
                    kind: errors::kind::INSTRUMENT,
                    max: U256::from(params::MAX_INSTRUMENTS),
                },
            ));
        }
        {
            let mut i = self.instruments.setter(id);
            i.underlying.set(alloy_primitives::U8::from(underlying));
            i.kind.set(alloy_primitives::U8::from(kind));
            st(&mut i.strike, strike);
            st64(&mut i.expiry, expiry);
        }
        self.instrument_count
            .set(alloy_primitives::U32::from(id + 1));
        self.vm().log(InstrumentListed {
            id,
            underlying,
            kind,
            strike,
            expiry,
        });
        Ok(id)
    }

    /// Instrument `id`: (underlying, kind, strike, expiry).
    pub fn instrument(&self, id: u32) -> R<(u8, u8, i128, u64)> {
        self.instrument_exists(id)?;
        let i = self.instruments.getter(id);
        Ok((
            i.underlying.get().to::<u8>(),
            i.kind.get().to::<u8>(),
            ld(&i.strike),
            ld64(&i.expiry),
        ))
    }

    // ------------------------------------------------------------ accounts

    /// `owner << 96 | sub`.
    pub fn account_id(&self, owner: Address, sub: u64) -> U256 {
        account_id(owner, sub)
    }

    /// Deposits `amount` (token units) of collateral `id` from the caller into
    /// `account` (anyone may fund any account). Credits what actually arrived;
    /// the settlement token (id 0) credits cash. Works while new risk is paused.
    ///
    /// # Errors
    /// `KeelInvalidAmount` (zero); `KeelUnknownEntry`; `KeelTokenCallFailed`;
    /// `KeelDepositCapExceeded`.
    ///
    /// # Events
    /// `Deposited`.
    pub fn deposit(&mut self, account: U256, id: u8, amount: U256) -> R<()> {
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        self.collateral_exists(id)?;
        let from = self.vm().msg_sender();
        let token = self.collaterals.getter(id).token.get();
        let got = self.pull(token, from, amount)?;
        let (cap, total) = {
            let c = self.collaterals.getter(id);
            (c.cap.get(), c.total.get().saturating_add(got))
        };
        if total > cap {
            return Err(EngineError::DepositCapExceeded(KeelDepositCapExceeded {
                id,
                cap,
                total,
            }));
        }
        self.collaterals.setter(id).total.set(total);
        if id == 0 {
            let w = self.token_to_wad(0, got)?;
            self.add_cash(account, w)?;
        } else {
            let mut a = self.accounts.setter(account);
            let bal = a.collateral.get(id).saturating_add(got);
            a.collateral.setter(id).set(bal);
            let m = a.collateral_mask.get().to::<u8>() | (1 << id);
            a.collateral_mask.set(alloy_primitives::U8::from(m));
        }
        self.vm().log(Deposited {
            account,
            collateral: id,
            from,
            amount: got,
        });
        Ok(())
    }

    /// Withdraws `amount` (token units) of collateral `id` from `account` to its
    /// owner (owner only). Settlement-token withdrawals may take cash negative
    /// (a loan against collateral). Requires IM afterwards unless the account has
    /// no positions and no debt.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelInvalidAmount`; `KeelUnknownEntry`;
    /// `KeelInsufficientBalance`; `KeelInsufficientMargin`; oracle errors;
    /// `KeelTokenCallFailed`.
    ///
    /// # Events
    /// `Withdrawn`.
    pub fn withdraw(&mut self, account: U256, id: u8, amount: U256) -> R<()> {
        self.only_account_owner(account)?;
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        self.collateral_exists(id)?;
        if id == 0 {
            let w = self.token_to_wad(0, amount)?;
            self.add_cash(account, -w)?;
        } else {
            let mut a = self.accounts.setter(account);
            let bal = a.collateral.get(id);
            if bal < amount {
                return Err(EngineError::InsufficientBalance(KeelInsufficientBalance {
                    account,
                    id,
                    balance: bal,
                    needed: amount,
                }));
            }
            let left = bal - amount;
            a.collateral.setter(id).set(left);
            if left.is_zero() {
                let m = a.collateral_mask.get().to::<u8>() & !(1 << id);
                a.collateral_mask.set(alloy_primitives::U8::from(m));
            }
        }
        let (token, total) = {
            let c = self.collaterals.getter(id);
            (c.token.get(), c.total.get().saturating_sub(amount))
        };
        self.collaterals.setter(id).total.set(total);
        if self.position_count(account) > 0 || self.cash_of(account) < 0 {
            self.require_im(account, None)?;
        }
        let to = self.vm().msg_sender();
        self.push(token, to, amount)?;
        self.vm().log(Withdrawn {
            account,
            collateral: id,
            to,
            amount,
        });
        Ok(())
    }

    /// Adds `amount` (token units) of the settlement token from the caller to the
    /// insurance fund.
    ///
    /// # Errors
    /// `KeelInvalidAmount`; `KeelTokenCallFailed`.
    ///
    /// # Events
    /// `InsuranceFundChanged`.
    pub fn fund_insurance(&mut self, amount: U256) -> R<()> {
        if amount.is_zero() {
            return Err(EngineError::InvalidAmount(KeelInvalidAmount {}));
        }
        let token = self.collaterals.getter(0).token.get();
        let from = self.vm().msg_sender();
        let got = self.pull(token, from, amount)?;
        let w = self.token_to_wad(0, got)?;
        let total = self.collaterals.getter(0).total.get().saturating_add(got);
        self.collaterals.setter(0).total.set(total);
        self.change_insurance(w)
    }

    /// Insurance fund balance (cash, WAD).
    pub fn insurance_fund(&self) -> i128 {
        ld(&self.insurance)
    }

    /// Socialised-loss index (WAD; 1e18 = no loss so far).
    pub fn loss_index(&self) -> i128 {
        ld(&self.loss_index)
    }

    /// Settlement cash of `account` (WAD, after the loss index).
    pub fn cash_balance(&self, account: U256) -> i128 {
        self.cash_of(account)
    }

    /// Collateral `id` balance of `account` (token units).
    pub fn collateral_balance(&self, account: U256, id: u8) -> U256 {
        self.accounts.getter(account).collateral.get(id)
    }

    /// Positions of `account`: instrument ids, signed sizes and perp entry prices (WAD).
    pub fn positions(&self, account: U256) -> (Vec<u32>, Vec<i128>, Vec<i128>) {
        let ids = self.position_list(account);
        let mut sizes = Vec::with_capacity(ids.len());
        let mut entries = Vec::with_capacity(ids.len());
        for id in &ids {
            let (s, e) = self.position(account, *id);
            sizes.push(s);
            entries.push(e);
        }
        (ids, sizes, entries)
    }

    /// Liquidation flag time of `account` (0 = not flagged).
    pub fn flagged_at(&self, account: U256) -> u64 {
        ld64(&self.accounts.getter(account).flagged_at)
    }

    // ------------------------------------------------------------ trades

    /// Reports a trade of `sizeDelta` (WAD, signed) of `instrument` at `price`
    /// (WAD) for `account`, with a `fee` (cash, WAD, >= 0) credited to the
    /// market's own account `accountId(market, 0)` (authorised markets only).
    /// Perp PnL realises into cash on reduction; option premium moves through
    /// cash. If the trade adds risk (grows or flips the position) new risk must
    /// not be paused for the underlying and the account must hold IM afterwards.
    /// Returns the cash change from PnL or premium.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount` (not a market); `KeelUnknownEntry`;
    /// `KeelParameterOutOfBounds` (size, price, fee); `KeelInvalidExpiry`
    /// (expired option); `KeelNewRiskPaused`; `KeelCapacityExceeded(3, 16)`;
    /// `KeelInsufficientMargin`; oracle errors.
    ///
    /// # Events
    /// `TradeReported`.
    pub fn report_trade(
        &mut self,
        account: U256,
        instrument: u32,
        size_delta: i128,
        price: i128,
        fee: i128,
    ) -> R<i128> {
        let market = self.vm().msg_sender();
        if !self.markets.get(market) {
            return Err(unauthorized(market));
        }
        self.instrument_exists(instrument)?;
        let max = params::MAX_PRICE;
        check(field::SIZE, size_delta, -max, max)?;
        if size_delta == 0 {
            return Err(errors::out_of_bounds(field::SIZE, 0, 1, max));
        }
        check(field::PRICE, price, 1, max)?;
        check(field::FEE, fee, 0, max)?;
        let (u, expiry) = {
            let i = self.instruments.getter(instrument);
            (i.underlying.get().to::<u8>(), ld64(&i.expiry))
        };
        if expiry != 0 && self.now() >= expiry {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument,
                expiry,
            }));
        }
        let (old, _) = self.position(account, instrument);
        let new = old.checked_add(size_delta).ok_or_else(errors::overflow)?;
        let adds_risk = new.unsigned_abs() > old.unsigned_abs()
            || (old != 0 && new != 0 && (old < 0) != (new < 0));
        if adds_risk {
            self.check_new_risk(u)?;
        }
        let pnl = self.apply_trade(account, instrument, size_delta, price)?;
        if fee != 0 {
            self.add_cash(account, -fee)?;
            self.add_cash(account_id(market, 0), fee)?;
        }
        if adds_risk {
            self.require_im(account, Some(u))?;
        }
        self.vm().log(TradeReported {
            account,
            instrument,
            market,
            sizeDelta: size_delta,
            price,
            fee,
            realisedPnl: pnl,
        });
        Ok(pnl)
    }

    // ------------------------------------------------------------ margin views

    /// Margin of `account`: (equity IM view, equity MM view, IM, MM), WAD.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn account_margin(&self, account: U256) -> R<(i128, i128, i128, i128)> {
        let r = self.margin_report(account)?;
        Ok((r.equity_im, r.equity_mm, r.im, r.mm))
    }

    /// Health = equity (MM view) / MM (WAD; i128::MAX when MM is 0).
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn health(&self, account: U256) -> R<i128> {
        Ok(self.margin_report(account)?.health)
    }

    /// Whether `account` is below maintenance margin (equity MM view < MM).
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn is_liquidatable(&self, account: U256) -> R<bool> {
        let r = self.margin_report(account)?;
        Ok(r.equity_mm < r.mm)
    }

    /// The auditable worst case of `account` on `underlying`: the PnL of every
    /// scenario (WAD, keel-risk's scenario order), the index of the worst one and
    /// the scan loss. Empty when the account has no position on it.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn scenario_pnl(&self, account: U256, underlying: u8) -> R<(Vec<i128>, u32, i128)> {
        let (r, map) = self.margin_report_with_map(account)?;
        Ok(match map.iter().position(|u| *u == underlying) {
            Some(i) => {
                let u = &r.underlyings[i];
                (u.pnl.clone(), u.worst_index, u.scan_loss)
            }
            None => (Vec::new(), 0, 0),
        })
    }

    /// Greeks of `account` on `underlying`: (delta, gamma, vega), WAD.
    ///
    /// # Errors
    /// Oracle errors; `KeelRiskError`.
    pub fn greeks(&self, account: U256, underlying: u8) -> R<(i128, i128, i128)> {
        let (r, map) = self.margin_report_with_map(account)?;
        Ok(match map.iter().position(|u| *u == underlying) {
            Some(i) => {
                let u = &r.underlyings[i];
                (u.delta, u.gamma, u.vega)
            }
            None => (0, 0, 0),
        })
    }

    // ------------------------------------------------------------ dynamic margin

    /// Reads the spot oracle of `underlying` and updates its EWMA variance and
    /// scan range (rises at once, falls at a bounded rate, floored); trips the
    /// deviation guard when the price moved more than `maxDeviation` since the
    /// last poke. Permissionless; at most once per `params::MIN_POKE_INTERVAL`.
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelPokeTooSoon`; `KeelSequencerUnavailable`;
    /// `KeelOracleInvalid`; `KeelRiskError`.
    ///
    /// # Events
    /// `Poked`.
    pub fn poke(&mut self, underlying: u8) -> R<()> {
        self.underlying_exists(underlying)?;
        let now = self.now();
        let next = self.next_poke(underlying);
        if now < next {
            return Err(EngineError::PokeTooSoon(KeelPokeTooSoon {
                underlying,
                nextAllowed: next,
            }));
        }
        self.check_sequencer()?;
        let price = self.spot(underlying)?;
        let (state, tripped) = self.update_dynamics(underlying, price, now)?;
        self.vm().log(Poked {
            underlying,
            price,
            variancePerSecond: state.variance_per_second,
            scanRange: state.scan_range,
            deviation: tripped,
        });
        Ok(())
    }

    // ------------------------------------------------------------ liquidation

    /// Flags `account` (equity MM view < MM) for liquidation; the caller earns the
    /// flag reward (cash from the account into `accountId(caller, 0)`).
    ///
    /// # Errors
    /// `KeelInvalidAccountState` (healthy 0 / already flagged 2); oracle errors.
    ///
    /// # Events
    /// `AccountFlagged`.
    pub fn flag(&mut self, account: U256) -> R<()> {
        self.flag_impl(account)
    }

    /// Clears the flag of a recovered account (equity MM view >= MM x (1 + buffer)).
    ///
    /// # Errors
    /// `KeelInvalidAccountState` (not flagged 1 / still below the buffer 4).
    ///
    /// # Events
    /// `FlagCleared`.
    pub fn unflag(&mut self, account: U256) -> R<()> {
        self.unflag_impl(account)
    }

    /// Takes `size` (WAD, same sign as the position, |size| <= |position|) of
    /// `instrument` from flagged `account` into `liquidatorAccount` (owned by the
    /// caller) at mark minus the auction discount (discount grows from flag time,
    /// capped). Allowed while the account's MM-view equity is below
    /// MM x (1 + buffer); the liquidator must hold IM afterwards; liquidated
    /// notional per underlying per window is capped (scaled up with the scan range).
    /// Returns the transfer price.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelInvalidAccountState`; `KeelInvalidPosition`;
    /// `KeelInvalidExpiry`; `KeelLiquidationCapExceeded`; `KeelInsufficientMargin`;
    /// oracle errors.
    ///
    /// # Events
    /// `Liquidated`, and `FlagCleared` when the account is back above the buffer.
    pub fn liquidate(
        &mut self,
        account: U256,
        liquidator_account: U256,
        instrument: u32,
        size: i128,
    ) -> R<i128> {
        self.liquidate_impl(account, liquidator_account, instrument, size)
    }

    /// Buys `amount` (token units) of collateral `id` from flagged `account` into
    /// `liquidatorAccount` (owned by the caller), paying oracle price x (1 -
    /// discount) in cash. Same state rules as `liquidate`. Returns the cash paid.
    ///
    /// # Errors
    /// As `liquidate`, plus `KeelInsufficientBalance`.
    ///
    /// # Events
    /// `CollateralLiquidated`, maybe `FlagCleared`.
    pub fn liquidate_collateral(
        &mut self,
        account: U256,
        liquidator_account: U256,
        id: u8,
        amount: U256,
    ) -> R<i128> {
        self.liquidate_collateral_impl(account, liquidator_account, id, amount)
    }

    /// Covers the negative cash of a bankrupt account (no positions, no non-
    /// settlement collateral): first from the insurance fund, the rest by
    /// lowering the loss index over all positive cash balances. Permissionless.
    ///
    /// # Errors
    /// `KeelInvalidAccountState(3)` when the account is not bankrupt.
    ///
    /// # Events
    /// `BadDebtSettled`, `InsuranceFundChanged`.
    pub fn settle_bad_debt(&mut self, account: U256) -> R<()> {
        self.settle_bad_debt_impl(account)
    }

    // ------------------------------------------------------------ expiry

    /// Records the settlement price of (`underlying`, `expiry`) from the spot
    /// feed's latest round, which must be updated at or after `expiry` (and be
    /// fresh). Once only. Permissionless.
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelInvalidExpiry` (before expiry);
    /// `KeelSettlementPrice(set = true)`; `KeelOracleInvalid` (reason 4 when the
    /// round predates expiry).
    ///
    /// # Events
    /// `SettlementPriceSet`.
    pub fn record_settlement_price(&mut self, underlying: u8, expiry: u64) -> R<i128> {
        self.underlying_exists(underlying)?;
        if self.now() < expiry || expiry == 0 {
            return Err(EngineError::InvalidExpiry(KeelInvalidExpiry {
                instrument: u32::MAX,
                expiry,
            }));
        }
        let key = (U256::from(underlying) << 64) | U256::from(expiry);
        if ld(&self.settlement_prices.getter(key)) != 0 {
            return Err(EngineError::SettlementPrice(KeelSettlementPrice {
                underlying,
                expiry,
                set: true,
            }));
        }
        let (feed, dec, hb) = self.spot_feed(underlying);
        let (price, round) = self.read_price(feed, dec, hb)?;
        if round.updated_at < expiry {
            return Err(EngineError::OracleInvalid(errors::KeelOracleInvalid {
                feed,
                reason: errors::oracle_reason::BEFORE_EXPIRY,
                updatedAt: U256::from(round.updated_at),
            }));
        }
        st(&mut self.settlement_prices.setter(key), price);
        self.vm().log(SettlementPriceSet {
            underlying,
            expiry,
            price,
        });
        Ok(price)
    }

    /// Settlement price of (`underlying`, `expiry`) (WAD; 0 = not recorded).
    pub fn settlement_price(&self, underlying: u8, expiry: u64) -> i128 {
        ld(&self
            .settlement_prices
            .getter((U256::from(underlying) << 64) | U256::from(expiry)))
    }

    /// Settles `account`'s expired option `instrument` into cash at the recorded
    /// settlement price (payout = size x intrinsic, rounded down). Permissionless.
    /// Returns the payout.
    ///
    /// # Errors
    /// `KeelUnknownEntry`; `KeelInvalidExpiry` (perp or not expired);
    /// `KeelSettlementPrice(set = false)`; `KeelInvalidPosition` (no position).
    ///
    /// # Events
    /// `PositionSettled`.
    pub fn settle(&mut self, account: U256, instrument: u32) -> R<i128> {
        self.settle_impl(account, instrument)
    }
}
