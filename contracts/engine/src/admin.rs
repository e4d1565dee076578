//! The admin program's entry points (roles, registries, parameters), methods
//! of [`KeelEngine`] on the shared storage. On-chain they run in the
//! `keel_engine_admin` program, which the accounts program reaches by
//! `delegatecall` from its fallback (see [`crate::router`]).
use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use stylus_sdk::prelude::*;

use crate::errors::{self, kind, unauthorized, EngineError, KeelInvalidAddress};
use crate::events::*;
use crate::params::{self, check, field, MAX_COLLATERALS, MAX_UNDERLYINGS};
use crate::{ld, ld64, lda, st, st64, sta, KeelEngine};

/// Engine result.
type R<T> = errors::Result<T>;

impl KeelEngine {
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
        self.emit(OwnershipTransferStarted {
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
        self.emit(OwnershipTransferred {
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
        self.emit(RoleSet { role, account });
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
        self.emit(PauseSet { paused });
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
        self.emit(MarketSet { market, authorised });
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
        self.emit(ParamsSet { which: 2 });
        Ok(())
    }

    /// Lists (id = current count) or updates (id < count) a collateral (risk admin).
    /// Id 0 is the settlement token: only its cap may change (haircuts must be 0).
    /// Haircuts are WAD: 0 <= mm <= im <= 0.95; heartbeat in [60, 172800] s.
    /// A token is listed at most once (two ids for one token would count one
    /// balance twice against the deposit caps and the window caps).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds` (field codes in
    /// `params::field`; `TOKEN` with value 0 when an update changes the token,
    /// with value `j` when a new id's token is already listed as id `j`);
    /// `KeelCapacityExceeded(0, 8)` when the registry is full;
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
            if let Some(j) = (0..count).find(|j| self.collaterals.getter(*j).token.get() == token) {
                return Err(errors::out_of_bounds(field::TOKEN, j as i128, 0, 0));
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
        self.emit(UnderlyingSet {
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
        self.emit(UnderlyingSet {
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
        self.emit(ParamsSet { which: 0 });
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
        self.emit(CorrelationSet { a, b, rho });
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
        self.emit(ParamsSet { which: 0 });
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
        self.emit(ParamsSet { which: 0 });
        Ok(())
    }

    /// Sets the liquidation parameters (risk admin): keeper reward for a flag
    /// (cash, [0, 1000]); discount at flag time <= cap <= 0.5 and growth per
    /// second in [0, 0.01] (WAD fractions of spot); buffer above MM in [0, 1];
    /// anti-cascade window in [60, 86400] s and base cap (notional, > 0);
    /// close factor, the largest share of a position or collateral balance
    /// one liquidation step may take, in [0.05, 1] (WAD).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelParameterOutOfBounds` (`CLOSE_FACTOR`
    /// for the close factor).
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
        close_factor: i128,
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
        check(field::CLOSE_FACTOR, close_factor, w / 20, w)?;
        self.store_liquidation_params(
            flag_reward,
            [discount_start, discount_per_second, discount_max],
            buffer,
            window,
            cap,
            close_factor,
        );
        self.emit(ParamsSet { which: 1 });
        Ok(())
    }

    /// The liquidation parameters, in `setLiquidationParams` order: flag
    /// reward (cash), discount at flag time, its growth per second and its
    /// cap (WAD fractions of spot), buffer above MM (WAD), anti-cascade window
    /// (s) and base cap (notional), close factor (WAD).
    pub fn liquidation_params(&self) -> (i128, i128, i128, i128, i128, u64, i128, i128) {
        let l = &self.liq;
        (
            ld(&l.flag_reward),
            lda(&l.discount, 0),
            lda(&l.discount, 1),
            lda(&l.discount, 2),
            ld(&l.buffer),
            ld64(&l.window),
            ld(&l.cap),
            ld(&l.close_factor),
        )
    }

    /// Sets the limits of underlying `id` (risk admin), each 0 for its default:
    /// the implied-vol feed's heartbeat, s (0 or [60, 172800]; 0 = the spot
    /// feed's heartbeat); the half width of the band reported trade prices
    /// must lie in around the mark, WAD fraction of spot (0 or [0.001, 0.5];
    /// 0 = the current scan range R); the settlement delay, the latest time
    /// after an expiry at which the first oracle round may still settle it, s
    /// (0 or [60, 604800]; 0 = `params::DEFAULT_SETTLEMENT_DELAY`, 1 h).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry(1, id)`;
    /// `KeelParameterOutOfBounds` (`HEARTBEAT`, `PRICE_BAND`, `SETTLEMENT_DELAY`).
    ///
    /// # Events
    /// `UnderlyingLimitsSet`.
    pub fn set_underlying_limits(
        &mut self,
        id: u8,
        vol_heartbeat: u64,
        price_band: u64,
        settlement_delay: u64,
    ) -> R<()> {
        self.only_risk_admin()?;
        self.underlying_exists(id)?;
        let w = keel_risk::WAD as u64;
        check_or_zero(field::HEARTBEAT, vol_heartbeat, 60, 172_800)?;
        check_or_zero(field::PRICE_BAND, price_band, w / 1_000, w / 2)?;
        let max_delay = params::MAX_SETTLEMENT_DELAY;
        check_or_zero(field::SETTLEMENT_DELAY, settlement_delay, 60, max_delay)?;
        let mut u = self.underlyings.setter(id);
        st64(&mut u.vol_heartbeat, vol_heartbeat);
        st64(&mut u.price_band, price_band);
        st64(&mut u.settlement_delay, settlement_delay);
        drop(u);
        self.emit(UnderlyingLimitsSet {
            id,
            volHeartbeat: vol_heartbeat,
            priceBand: price_band,
            settlementDelay: settlement_delay,
        });
        Ok(())
    }

    /// The limits of underlying `id` as stored (0 = the default, see
    /// [`Self::set_underlying_limits`]): (vol-feed heartbeat s, price band WAD,
    /// settlement delay s).
    ///
    /// # Errors
    /// `KeelUnknownEntry(1, id)`.
    pub fn underlying_limits(&self, id: u8) -> R<(u64, u64, u64)> {
        self.underlying_exists(id)?;
        let u = self.underlyings.getter(id);
        Ok((
            ld64(&u.vol_heartbeat),
            ld64(&u.price_band),
            ld64(&u.settlement_delay),
        ))
    }

    /// Sets the limits of instrument `id` (risk admin): the minimum notional
    /// (|size| x spot, WAD) of a non-zero position after a trade, and the cap
    /// on its open interest (sum of long sizes, WAD; 0 = none), each in
    /// [0, MAX_PRICE]. A cap below the current open interest blocks only
    /// trades that add risk. New instruments start at minimum notional
    /// `params::DEFAULT_MIN_NOTIONAL` (10) and no cap.
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry(2, id)`;
    /// `KeelParameterOutOfBounds` (`MIN_NOTIONAL`, `OI_CAP`).
    ///
    /// # Events
    /// `InstrumentLimitsSet`.
    pub fn set_instrument_limits(&mut self, id: u32, min_notional: i128, oi_cap: i128) -> R<()> {
        self.only_risk_admin()?;
        self.instrument_exists(id)?;
        check(field::MIN_NOTIONAL, min_notional, 0, params::MAX_PRICE)?;
        check(field::OI_CAP, oi_cap, 0, params::MAX_PRICE)?;
        let mut i = self.instruments.setter(id);
        st(&mut i.min_notional, min_notional);
        st(&mut i.oi_cap, oi_cap);
        drop(i);
        self.emit(InstrumentLimitsSet {
            id,
            minNotional: min_notional,
            openInterestCap: oi_cap,
        });
        Ok(())
    }

    /// The limits of instrument `id` and its current open interest (WAD):
    /// (minimum notional, open-interest cap (0 = none), open interest).
    ///
    /// # Errors
    /// `KeelUnknownEntry(2, id)`.
    pub fn instrument_limits(&self, id: u32) -> R<(i128, i128, i128)> {
        self.instrument_exists(id)?;
        let i = self.instruments.getter(id);
        Ok((ld(&i.min_notional), ld(&i.oi_cap), ld(&i.open_interest)))
    }

    /// Lists an instrument (risk admin): kind 0 perp (strike and expiry 0), 1 call,
    /// 2 put (strike in (0, 1e15] WAD and in [ceil(spot / 5), 5 x spot] of the
    /// underlying's current oracle spot, Black-76's moneyness domain; expiry in
    /// [now + 1 h, now + 2 y]). Returns its id. The instrument starts with
    /// minimum notional `params::DEFAULT_MIN_NOTIONAL` and no open-interest cap
    /// (see [`Self::set_instrument_limits`]).
    ///
    /// # Errors
    /// `KeelUnauthorizedAccount`; `KeelUnknownEntry`; `KeelParameterOutOfBounds`
    /// (`STRIKE_RANGE` with the range when the strike is outside it);
    /// `KeelCapacityExceeded(2, ...)`; oracle errors of the spot read (options).
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
        if kind != 0 {
            // spot > 0 (read_price): (spot - 1) / 5 + 1 = ceil(spot / 5).
            let spot = self.spot(underlying)?;
            let (lo, hi) = ((spot - 1) / 5 + 1, spot.saturating_mul(5));
            check(field::STRIKE_RANGE, strike, lo, hi)?;
        }
        {
            let mut i = self.instruments.setter(id);
            i.underlying.set(alloy_primitives::U8::from(underlying));
            i.kind.set(alloy_primitives::U8::from(kind));
            st(&mut i.strike, strike);
            st64(&mut i.expiry, expiry);
            st(&mut i.min_notional, params::DEFAULT_MIN_NOTIONAL);
        }
        self.instrument_count
            .set(alloy_primitives::U32::from(id + 1));
        self.emit(InstrumentListed {
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
}

/// Checks `v == 0` (the default) or `lo <= v <= hi`, else
/// `KeelParameterOutOfBounds(field, v, lo, hi)`.
fn check_or_zero(field: u8, v: u64, lo: u64, hi: u64) -> R<()> {
    if v == 0 {
        return Ok(());
    }
    check(field, v as i128, lo as i128, hi as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_or_zero_accepts_zero_and_the_range_only() {
        for v in [0, 60, 100, 3_600] {
            assert!(check_or_zero(field::HEARTBEAT, v, 60, 3_600).is_ok(), "{v}");
        }
        for v in [1, 59, 3_601, u64::MAX] {
            let e = check_or_zero(field::PRICE_BAND, v, 60, 3_600);
            assert!(
                matches!(e, Err(EngineError::ParameterOutOfBounds(ref p))
                    if p.field == field::PRICE_BAND
                        && p.value == errors::i256(v as i128)
                        && p.min == errors::i256(60)
                        && p.max == errors::i256(3_600)),
                "{v}: {e:?}"
            );
        }
    }
}
