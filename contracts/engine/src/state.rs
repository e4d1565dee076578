//! Contract storage: the entrypoint struct and its nested records.
//!
//! Lint note: `#[entrypoint]` generates an undocumented `pub extern "C" fn
//! user_entrypoint`, hence the module-level `allow(missing_docs)`; every item
//! written here is documented.
#![allow(missing_docs)]

use alloy_primitives::{Address, U256};
use stylus_sdk::{
    prelude::*,
    storage::{
        StorageAddress, StorageArray, StorageBool, StorageMap, StorageU128, StorageU256,
        StorageU32, StorageU64, StorageU8, StorageVec,
    },
};

/// One registered collateral token. Id 0 is the settlement token: it is held as
/// the account's cash balance (price 1, no haircut) instead of a token balance.
#[storage]
pub struct CollateralConfig {
    /// ERC-20 token.
    pub token: StorageAddress,
    /// Token decimals (<= 18).
    pub decimals: StorageU8,
    /// Price-feed decimals (<= 18).
    pub feed_decimals: StorageU8,
    /// Chainlink price feed in settlement currency (unused for id 0).
    pub price_feed: StorageAddress,
    /// Max feed age, seconds.
    pub heartbeat: StorageU64,
    /// IM haircut (WAD fraction).
    pub im_haircut: StorageU64,
    /// MM haircut (WAD fraction, <= IM haircut).
    pub mm_haircut: StorageU64,
    /// Deposit cap over all accounts (token units).
    pub cap: StorageU256,
    /// Total held for accounts (token units).
    pub total: StorageU256,
    /// Anti-cascade window index (time / window) of `liq_notional`.
    pub liq_window: StorageU64,
    /// Value (cash, WAD) of this collateral liquidated in `liq_window`.
    pub liq_notional: StorageU128,
}

/// One registered underlying: oracle, smile, EWMA parameters and dynamic state.
#[storage]
pub struct UnderlyingConfig {
    /// Chainlink spot feed (settlement currency per unit).
    pub price_feed: StorageAddress,
    /// Optional implied-vol feed (ATM vol as a fraction); zero = use `atm_vol`.
    pub vol_feed: StorageAddress,
    /// Spot-feed decimals.
    pub price_decimals: StorageU8,
    /// Vol-feed decimals.
    pub vol_decimals: StorageU8,
    /// Max feed age, seconds (both feeds).
    pub heartbeat: StorageU64,
    /// Deviation from the last accepted price that trips the guard (WAD).
    pub max_deviation: StorageU64,
    /// Guard duration after a trip, seconds.
    pub guard_cooldown: StorageU64,
    /// Oracle-confidence add-on rate while guarded (WAD of gross notional).
    pub confidence_addon: StorageU64,
    /// Smile: ATM vol, skew, curvature, min and max vol (WAD, i128 bits).
    pub smile: StorageArray<StorageU128, 5>,
    /// EWMA: lambda, k, range_min, range_max, max_fall_per_day, apc_floor_share (WAD).
    pub ewma: StorageArray<StorageU128, 6>,
    /// EWMA: lambda interval and margin horizon, seconds.
    pub ewma_secs: StorageArray<StorageU64, 2>,
    /// EWMA state: variance per second, last price, scan range, peak range (WAD).
    pub state: StorageArray<StorageU128, 4>,
    /// Time of the last accepted poke (0 = never).
    pub last_poke: StorageU64,
    /// New risk paused and add-on charged until this time (deviation guard).
    pub guard_until: StorageU64,
    /// Anti-cascade window index (time / window) and notional liquidated in it.
    pub liq_window: StorageU64,
    /// Notional (WAD) liquidated in `liq_window`.
    pub liq_notional: StorageU128,
    /// Max age of the vol feed, seconds (0 = the spot feed's heartbeat).
    pub vol_heartbeat: StorageU64,
    /// Half width of the trade price band, WAD fraction of spot (0 = the
    /// current scan range R).
    pub price_band: StorageU64,
    /// Latest time after an expiry at which the first oracle round may be
    /// taken as its settlement price, seconds (0 = `params::DEFAULT_SETTLEMENT_DELAY`).
    pub settlement_delay: StorageU64,
}

/// One listed instrument.
#[storage]
pub struct InstrumentConfig {
    /// Underlying id.
    pub underlying: StorageU8,
    /// 0 perp, 1 call, 2 put.
    pub kind: StorageU8,
    /// Option strike (WAD); 0 for perps.
    pub strike: StorageU128,
    /// Option expiry (unix seconds); 0 for perps.
    pub expiry: StorageU64,
    /// Minimum notional (|size| x spot, WAD) of a non-zero position after a trade.
    pub min_notional: StorageU128,
    /// Cap on the open interest (0 = none), WAD of size.
    pub oi_cap: StorageU128,
    /// Open interest: the sum of all long sizes (= all short sizes), WAD.
    pub open_interest: StorageU128,
}

/// Portfolio risk parameters (keel-risk `RiskParams`, ES off, symmetric extremes).
#[storage]
pub struct RiskConfig {
    /// Spot-grid half width k.
    pub grid_k: StorageU32,
    /// Time-roll horizon, seconds.
    pub time_roll: StorageU64,
    /// MM from the reduced grid (true) or as a fraction of IM (false).
    pub mm_reduced_grid: StorageBool,
    /// vol_down, vol_up, vol_up_power, extreme move (±m x R), extreme cover,
    /// mm_fraction, max_offset_credit, short_option_min (WAD).
    pub w: StorageArray<StorageU128, 8>,
    /// Concentration tiers: thresholds then multipliers (WAD), `tier_count` used.
    pub tiers: StorageArray<StorageU128, 8>,
    /// Number of concentration tiers in use (<= 4).
    pub tier_count: StorageU8,
}

/// Liquidation parameters.
#[storage]
pub struct LiquidationConfig {
    /// Keeper reward for a flag (cash, WAD).
    pub flag_reward: StorageU128,
    /// Discount at flag time, growth per second, cap (WAD fractions of spot).
    pub discount: StorageArray<StorageU128, 3>,
    /// Buffer above MM up to which partial liquidation may proceed (WAD).
    pub buffer: StorageU128,
    /// Anti-cascade base cap per underlying per window (notional, WAD).
    pub cap: StorageU128,
    /// Anti-cascade window, seconds.
    pub window: StorageU64,
    /// Largest share of a position (or collateral balance) one step may take (WAD).
    pub close_factor: StorageU128,
}

/// One position slot.
#[storage]
pub struct PositionSlot {
    /// Signed size (WAD).
    pub size: StorageU128,
    /// Perp average entry price (WAD).
    pub entry: StorageU128,
}

/// One cross-margin account.
#[storage]
pub struct Account {
    /// Settlement cash (WAD, signed bits); positive balances scale with the loss index.
    pub cash: StorageU128,
    /// Loss index when `cash` was last written, packed with its epoch
    /// (`ledger::pack`).
    pub cash_index: StorageU128,
    /// Liquidation flag time (0 = not flagged).
    pub flagged_at: StorageU64,
    /// Bit i set = holds collateral i (i >= 1).
    pub collateral_mask: StorageU8,
    /// Collateral balances (token units).
    pub collateral: StorageMap<u8, StorageU256>,
    /// Instrument ids with a non-zero position (<= MAX_POSITIONS).
    pub position_ids: StorageVec<StorageU32>,
    /// Positions by instrument id.
    pub positions: StorageMap<u32, PositionSlot>,
}

/// The engine's storage (Solidity layout order: slots follow field order).
/// Both engine programs (accounts and admin) run on this one layout at the
/// engine's address: the admin program through `delegatecall`.
#[storage]
pub struct KeelEngine {
    /// Owner (two-step transfer).
    pub(crate) owner: StorageAddress,
    /// Pending owner.
    pub(crate) pending_owner: StorageAddress,
    /// Risk admin (parameters, listings).
    pub(crate) risk_admin: StorageAddress,
    /// Guardian (pause of new risk).
    pub(crate) guardian: StorageAddress,
    /// New risk paused globally.
    pub(crate) paused: StorageBool,
    /// Sequencer-uptime feed (zero = not on an L2 with a sequencer feed).
    pub(crate) sequencer: StorageAddress,
    /// Grace period after a sequencer restart, seconds.
    pub(crate) sequencer_grace: StorageU32,
    /// Registry sizes.
    pub(crate) collateral_count: StorageU8,
    /// Number of underlyings.
    pub(crate) underlying_count: StorageU8,
    /// Number of instruments.
    pub(crate) instrument_count: StorageU32,
    /// Collateral registry.
    pub(crate) collaterals: StorageMap<u8, CollateralConfig>,
    /// Underlying registry.
    pub(crate) underlyings: StorageMap<u8, UnderlyingConfig>,
    /// Instrument registry.
    pub(crate) instruments: StorageMap<u32, InstrumentConfig>,
    /// Correlation (WAD bits) keyed `a * 16 + b` with a < b; unset = 0.
    pub(crate) correlation: StorageMap<u8, StorageU128>,
    /// Authorised markets.
    pub(crate) markets: StorageMap<Address, StorageBool>,
    /// Settlement prices keyed `underlying << 64 | expiry` (WAD; 0 = unset).
    pub(crate) settlement_prices: StorageMap<U256, StorageU128>,
    /// Portfolio risk parameters.
    pub(crate) risk: RiskConfig,
    /// Liquidation parameters.
    pub(crate) liq: LiquidationConfig,
    /// Accounts by id.
    pub(crate) accounts: StorageMap<U256, Account>,
    /// Socialised-loss index (WAD, starts at 1, only falls).
    pub(crate) loss_index: StorageU128,
    /// Sum of positive cash balances at their last write (WAD).
    pub(crate) positive_cash: StorageU128,
    /// Insurance fund (cash, WAD).
    pub(crate) insurance: StorageU128,
    /// The risk-calculator program (`keel_risk_calc`) every margin figure comes from.
    pub(crate) risk_calc: StorageAddress,
    /// The admin program (`keel_engine_admin`) the fallback delegates to.
    pub(crate) admin_module: StorageAddress,
    /// The keeper program (`keel_engine_keeper`): liquidation and bad debt.
    pub(crate) keeper_module: StorageAddress,
    /// The margin program (`keel_engine_margin`): margin views, and every
    /// margin figure the other programs need (by `delegatecall`).
    pub(crate) margin_module: StorageAddress,
    /// The upkeep program (`keel_engine_upkeep`): `poke` and expiry.
    pub(crate) upkeep_module: StorageAddress,
    /// Losses no one could be charged for (cash, WAD, >= 0): the part of a
    /// socialised loss beyond all positive cash.
    pub(crate) deficit: StorageU128,
    /// Epoch of the loss index (see `ledger`): a new one starts at index 1
    /// when a loss takes the index below `params::MIN_LOSS_INDEX`.
    pub(crate) loss_epoch: StorageU64,
    /// The index at which the previous loss-index epoch ended (WAD).
    pub(crate) loss_epoch_end: StorageU128,
    /// Reentrancy lock of the state-changing entry points (1 free, 2 held;
    /// 0 before the constructor). Shared by all programs (one storage).
    pub(crate) lock: StorageU8,
}

// SAFETY: `KeelEngine` is the whole contract storage, rooted at slot 0 (what
// `#[entrypoint]` on a struct asserts; the programs use function entrypoints
// with their own routers, see `router.rs`).
unsafe impl stylus_sdk::stylus_core::storage::TopLevelStorage for KeelEngine {}
