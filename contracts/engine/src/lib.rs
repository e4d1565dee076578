//! Keel engine: the Arbitrum Stylus cross-margin contract.
//!
//! Solidity protocols (authorised *markets*) report trades into cross-margin
//! accounts; the engine values every account with the keel-risk library
//! (stress-scenario portfolio margin in WAD fixed point) and enforces initial
//! margin (IM) on every change that adds risk. Keepers `poke` the dynamic scan
//! range, flag accounts below maintenance margin (MM) and liquidate them by a
//! Dutch auction; bad debt goes to the insurance fund and beyond it is
//! socialised over positive settlement-cash balances by a loss index.
//!
//! Modules (one concept each):
//! - [`errors`], [`events`]: the Solidity surface (custom errors, events);
//! - [`params`]: hard bounds, per-account caps, defaults;
//! - [`oracle`]: Chainlink feeds, sequencer uptime; [`token`]: ERC-20 calls;
//! - [`ledger`]: cash with the loss index, collateral, positions, trade maths;
//! - [`margin`]: builds keel-risk inputs from storage and gets every margin
//!   figure (the margin program computes, the others delegatecall it);
//!   [`liquidation`]: flag, auction, caps, bad debt.
//!
//! Accounts are `uint256` ids: `owner << 96 | sub` ([`account_id`]), so an owner
//! has up to 2^96 sub-accounts without registration.
//!
//! Units: cash, prices, strikes, sizes are WAD (1e18); collateral balances and
//! deposit/withdraw amounts are token units; fractions are WAD.
//!
//! Caps (see [`params`]): 8 collateral types (so at most 8 per account, a
//! bitmask), 8 underlyings, 16 positions per account. They bound the oracle
//! reads and the scenario revaluations of one margin check; liquidation runs
//! three checks (account before and after, liquidator).
//!
//! # Programs (the split) and size
//!
//! Stylus caps deployed code at 24,576 bytes (brotli) and 128 KiB raw; the
//! engine as one program measured 66 KB deployed. It is five programs along
//! concept lines, all built from this workspace, plus the risk calculator:
//!
//! - `keel_engine` (this crate's cdylib, [`router::accounts`]): the address
//!   integrators call. Accounts, collateral, trades. Its fallback forwards
//!   every other selector by `delegatecall` (same storage, [`KeelEngine`]) to
//! - `keel_engine_margin` (`contracts/engine-margin`, [`router::margin`]):
//!   margin views and `marginFigures`, which the accounts and keeper programs
//!   also delegatecall for every IM check and liquidation decision;
//! - `keel_engine_keeper` (`contracts/engine-keeper`, [`router::keeper`]):
//!   flag, liquidation, bad debt;
//! - `keel_engine_upkeep` (`contracts/engine-upkeep`, [`router::upkeep`]):
//!   `poke` and expiry;
//! - `keel_engine_admin` (`contracts/engine-admin`, [`router::admin`]): roles,
//!   registries, parameters.
//! - `keel_risk_calc` (`contracts/risk-calc`): the pure fixed-point risk
//!   maths (portfolio margin, greeks, Black-76 mark, EWMA update), which
//!   [`margin`] static-calls; no maths runs in the engine programs.
//!
//! The engine programs route with the compact codec of [`abi`] instead of the
//! SDK's `#[public]` router (about 50 KB of WASM for 53 functions) and emit
//! events with [`events::Emit`] instead of alloy's generic encoder. Sizes are
//! measured by the test command (`stylus-wasm process` fails over budget).
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]

extern crate alloc;

pub mod abi;
mod accounts;
mod admin;
pub mod errors;
pub mod events;
pub mod ledger;
pub mod liquidation;
pub mod margin;
pub mod oracle;
pub mod params;
pub mod router;
mod state;
pub mod token;

pub use accounts::Modules;
pub use state::*;

/// The Solidity interface `IKeelEngine`, as the `keel-engine-abi` binary
/// prints it into `contracts/solidity/IKeelEngine.sol`.
#[cfg(not(target_arch = "wasm32"))]
pub fn solidity_interface() -> alloc::string::String {
    let abi = abi::IKeelEngine::abi::contract();
    let body = abi.to_sol("IKeelEngine", None);
    alloc::format!(
        "// SPDX-License-Identifier: MIT\n// Generated from contracts/engine/src/abi.rs by\n// `cargo run -q -p keel-engine --features export-abi --bin keel-engine-abi`; do not edit.\npragma solidity ^0.8.23;\n\n{body}\n"
    )
}

use alloy_primitives::{Address, U256};
use stylus_sdk::{
    prelude::*,
    storage::{StorageArray, StorageU128, StorageU64},
};

use crate::errors::{kind, unauthorized, unknown, EngineError, KeelInvalidAmount};
use crate::events::CollateralSet;

/// Engine result (named `R` here: the SDK macros expect `Result` to be std's).
type R<T> = errors::Result<T>;

/// `owner << 96 | sub`: the id of sub-account `sub` of `owner`.
pub fn account_id(owner: Address, sub: u64) -> U256 {
    (token::addr_word(owner) << 96) | U256::from(sub)
}

/// The owner encoded in an account id (its top 160 bits).
pub fn account_owner(account: U256) -> Address {
    Address::from_slice(&account.to_be_bytes::<32>()[..20])
}

/// Reads an `i128` stored as its two's-complement bits in a `uint128` slot.
pub(crate) fn ld(s: &StorageU128) -> i128 {
    s.get().to::<u128>() as i128
}

/// Stores an `i128` as its two's-complement bits.
pub(crate) fn st(s: &mut StorageU128, v: i128) {
    s.set(alloy_primitives::U128::from(v as u128))
}

/// Reads element `i` of an array of `i128` bits.
pub(crate) fn lda<const N: usize>(a: &StorageArray<StorageU128, N>, i: usize) -> i128 {
    a.get(i).map(|v| v.to::<u128>() as i128).unwrap_or(0)
}

/// Writes element `i` of an array of `i128` bits.
pub(crate) fn sta<const N: usize>(a: &mut StorageArray<StorageU128, N>, i: usize, v: i128) {
    if let Some(mut s) = a.setter(i) {
        s.set(alloy_primitives::U128::from(v as u128));
    }
}

/// Reads a `uint64` slot.
pub(crate) fn ld64(s: &StorageU64) -> u64 {
    s.get().to::<u64>()
}

/// Stores a `uint64` slot.
pub(crate) fn st64(s: &mut StorageU64, v: u64) {
    s.set(alloy_primitives::U64::from(v))
}

impl KeelEngine {
    fn only(&self, who: Address) -> R<()> {
        let s = self.vm().msg_sender();
        if s != who {
            return Err(unauthorized(s));
        }
        Ok(())
    }

    fn only_risk_admin(&self) -> R<()> {
        let s = self.vm().msg_sender();
        if s != self.risk_admin.get() && s != self.owner.get() {
            return Err(unauthorized(s));
        }
        Ok(())
    }

    fn only_account_owner(&self, account: U256) -> R<()> {
        self.only(account_owner(account))
    }

    pub(crate) fn now(&self) -> u64 {
        self.vm().block_timestamp()
    }

    fn collateral_exists(&self, id: u8) -> R<()> {
        if id >= self.collateral_count.get().to::<u8>() {
            return Err(unknown(kind::COLLATERAL, id as u64));
        }
        Ok(())
    }

    pub(crate) fn underlying_exists(&self, id: u8) -> R<()> {
        if id >= self.underlying_count.get().to::<u8>() {
            return Err(unknown(kind::UNDERLYING, id as u64));
        }
        Ok(())
    }

    pub(crate) fn instrument_exists(&self, id: u32) -> R<()> {
        if id >= self.instrument_count.get().to::<u32>() {
            return Err(unknown(kind::INSTRUMENT, id as u64));
        }
        Ok(())
    }

    /// Emits an engine event ([`events::Emit`]: alloy's encoding without its
    /// generic encoder in the WASM).
    pub(crate) fn emit<E: events::Emit>(&self, event: E) {
        event.emit(self.vm());
    }

    /// Token units of collateral `id` -> WAD (exact: decimals <= 18).
    ///
    /// # Errors
    /// `KeelInvalidAmount` when the result exceeds `params::MAX_PRICE`.
    pub(crate) fn token_to_wad(&self, id: u8, amount: U256) -> R<i128> {
        let dec = self.collaterals.getter(id).decimals.get().to::<u32>();
        // 10^(18 - dec) fits u64; amounts above u128 are rejected before the
        // multiply, so a 128-bit product suffices (no U256 power in the WASM).
        let scale = 10u128.pow(18u32.saturating_sub(dec));
        u128::try_from(amount)
            .ok()
            .and_then(|a| a.checked_mul(scale))
            .and_then(|v| i128::try_from(v).ok())
            .filter(|v| *v <= params::MAX_PRICE)
            .ok_or(EngineError::InvalidAmount(KeelInvalidAmount {}))
    }

    fn emit_collateral(&self, id: u8) {
        let c = self.collaterals.getter(id);
        self.emit(CollateralSet {
            id,
            token: c.token.get(),
            priceFeed: c.price_feed.get(),
            imHaircut: ld64(&c.im_haircut),
            mmHaircut: ld64(&c.mm_haircut),
            depositCap: c.cap.get(),
        });
    }
}
