//! Selector routing of the engine's programs, and their entry points.
//!
//! - `keel_engine` (the *accounts* program, the address integrators call):
//!   [`accounts`] routes the constructor, accounts, collateral and trades;
//!   every other selector is forwarded by `delegatecall` (so it runs on the
//!   engine's storage with the caller's `msg.sender`) to
//! - `keel_engine_margin` (crate `contracts/engine-margin`): [`margin`]
//!   routes the margin views and `marginFigures` ([`MARGIN_SELECTORS`]),
//!   which the accounts and keeper programs also call themselves, by
//!   `delegatecall`, for every margin decision;
//! - `keel_engine_keeper` (crate `contracts/engine-keeper`): [`keeper`]
//!   routes liquidation and bad debt ([`KEEPER_SELECTORS`]);
//! - `keel_engine_upkeep` (crate `contracts/engine-upkeep`): [`upkeep`]
//!   routes `poke` and expiry ([`UPKEEP_SELECTORS`]);
//! - `keel_engine_admin` (crate `contracts/engine-admin`): [`admin`] routes
//!   roles, registries and parameters (every other selector).
//!
//! Every router answers `None` for a selector it does not serve; the
//! interface they implement together is `IKeelEngine` ([`crate::abi`]), and
//! `tests/abi.rs` checks that every function of it is routed by exactly one
//! program with the argument and result types it declares.
//!
//! Like the SDK's router: non-payable (value sent = revert with empty data),
//! unknown selector = revert with empty data, and the SDK entrypoint's
//! reentrancy guard stays on (a reentrant call reverts).
use alloc::vec::Vec;

use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use stylus_sdk::{call::delegate_call, host::VM, prelude::*, storage::StorageType, ArbResult};

use crate::abi::{one_i, one_n, Args, IKeelEngine as I, Out, CONSTRUCTOR_SELECTOR};
use crate::errors::Result;
use crate::KeelEngine;

/// Return data of a call that returns nothing.
fn none(r: Result<()>) -> Result<Vec<u8>> {
    r.map(|_| Vec::new())
}

/// Routes `input` (selector + arguments) to the accounts program's methods.
/// `None` when the selector is not one of them.
pub fn accounts(e: &mut KeelEngine, input: &[u8]) -> Option<Result<Vec<u8>>> {
    let (sel, rest) = input.split_first_chunk::<4>()?;
    let a = Args(rest);
    (|| -> Result<Option<Vec<u8>>> {
        Ok(Some(match *sel {
            CONSTRUCTOR_SELECTOR => none(e.constructor(
                a.address(0)?,
                a.address(1)?,
                a.address(2)?,
                crate::Modules {
                    risk_calc: a.address(3)?,
                    admin: a.address(4)?,
                    keeper: a.address(5)?,
                    margin: a.address(6)?,
                    upkeep: a.address(7)?,
                },
            ))?,
            I::modulesCall::SELECTOR => {
                let m = e.modules();
                Out::new(5)
                    .a(m.risk_calc)
                    .a(m.admin)
                    .a(m.keeper)
                    .a(m.margin)
                    .a(m.upkeep)
                    .done()
            }
            I::accountIdCall::SELECTOR => {
                Out::new(1).u(e.account_id(a.address(0)?, a.u64(1)?)).done()
            }
            I::depositCall::SELECTOR => none(e.deposit(a.u256(0)?, a.u8(1)?, a.u256(2)?))?,
            I::withdrawCall::SELECTOR => none(e.withdraw(a.u256(0)?, a.u8(1)?, a.u256(2)?))?,
            I::fundInsuranceCall::SELECTOR => none(e.fund_insurance(a.u256(0)?))?,
            I::insuranceFundCall::SELECTOR => one_i(e.insurance_fund()),
            I::lossIndexCall::SELECTOR => one_i(e.loss_index()),
            I::cashBalanceCall::SELECTOR => one_i(e.cash_balance(a.u256(0)?)),
            I::collateralBalanceCall::SELECTOR => Out::new(1)
                .u(e.collateral_balance(a.u256(0)?, a.u8(1)?))
                .done(),
            I::positionsCall::SELECTOR => {
                let (ids, sizes, entries) = e.positions(a.u256(0)?);
                Out::new(3)
                    .arr(ids.iter().map(|v| *v as i128))
                    .arr(sizes.into_iter())
                    .arr(entries.into_iter())
                    .done()
            }
            I::flaggedAtCall::SELECTOR => one_n(e.flagged_at(a.u256(0)?)),
            I::protocolDeficitCall::SELECTOR => one_i(e.protocol_deficit()),
            I::reportTradeCall::SELECTOR => {
                one_i(e.report_trade(a.u256(0)?, a.u32(1)?, a.i128(2)?, a.i128(3)?, a.i128(4)?)?)
            }
            _ => return Ok(None),
        }))
    })()
    .transpose()
}

/// Selectors of the margin program (forwarded by the accounts program).
pub const MARGIN_SELECTORS: [[u8; 4]; 8] = [
    I::accountMarginCall::SELECTOR,
    I::healthCall::SELECTOR,
    I::isLiquidatableCall::SELECTOR,
    I::scenarioPnlCall::SELECTOR,
    I::greeksCall::SELECTOR,
    I::marginFiguresCall::SELECTOR,
    I::priceBandCall::SELECTOR,
    I::impliedVolCall::SELECTOR,
];

/// Routes `input` to the margin program's methods (margin views and
/// `marginFigures`, which the other programs call); `None` for other selectors.
pub fn margin(e: &mut KeelEngine, input: &[u8]) -> Option<Result<Vec<u8>>> {
    let (sel, rest) = input.split_first_chunk::<4>()?;
    let a = Args(rest);
    (|| -> Result<Option<Vec<u8>>> {
        Ok(Some(match *sel {
            I::accountMarginCall::SELECTOR => {
                let (ei, em, im, mm) = e.account_margin(a.u256(0)?)?;
                Out::new(4).i(ei).i(em).i(im).i(mm).done()
            }
            I::healthCall::SELECTOR => one_i(e.health(a.u256(0)?)?),
            I::isLiquidatableCall::SELECTOR => one_n(e.is_liquidatable(a.u256(0)?)? as u64),
            I::scenarioPnlCall::SELECTOR => {
                let (pnl, worst, loss) = e.scenario_pnl(a.u256(0)?, a.u8(1)?)?;
                Out::new(3)
                    .arr(pnl.into_iter())
                    .n(worst as u64)
                    .i(loss)
                    .done()
            }
            I::greeksCall::SELECTOR => {
                let (d, g, v) = e.greeks(a.u256(0)?, a.u8(1)?)?;
                Out::new(3).i(d).i(g).i(v).done()
            }
            I::marginFiguresCall::SELECTOR => {
                let f = e.margin_figures(a.u256(0)?, a.u8(1)?)?;
                Out::new(7)
                    .i(f.equity_im)
                    .i(f.equity_mm)
                    .i(f.im)
                    .i(f.mm)
                    .i(f.health)
                    .n(f.blocked as u64)
                    .i(f.equity)
                    .done()
            }
            I::priceBandCall::SELECTOR => {
                let (m, s, lo, hi) = e.price_band(a.u32(0)?)?;
                Out::new(4).i(m).i(s).i(lo).i(hi).done()
            }
            I::impliedVolCall::SELECTOR => {
                let (v, src) = e.implied_vol(a.u8(0)?)?;
                Out::new(2).i(v).n(src as u64).done()
            }
            _ => return Ok(None),
        }))
    })()
    .transpose()
}

/// Selectors of the keeper program (forwarded by the accounts program).
pub const KEEPER_SELECTORS: [[u8; 4]; 5] = [
    I::flagCall::SELECTOR,
    I::unflagCall::SELECTOR,
    I::liquidateCall::SELECTOR,
    I::liquidateCollateralCall::SELECTOR,
    I::settleBadDebtCall::SELECTOR,
];

/// Routes `input` to the keeper program's methods (liquidation and bad
/// debt); `None` for other selectors.
pub fn keeper(e: &mut KeelEngine, input: &[u8]) -> Option<Result<Vec<u8>>> {
    let (sel, rest) = input.split_first_chunk::<4>()?;
    let a = Args(rest);
    (|| -> Result<Option<Vec<u8>>> {
        Ok(Some(match *sel {
            I::flagCall::SELECTOR => none(e.flag(a.u256(0)?))?,
            I::unflagCall::SELECTOR => none(e.unflag(a.u256(0)?))?,
            I::liquidateCall::SELECTOR => {
                one_i(e.liquidate(a.u256(0)?, a.u256(1)?, a.u32(2)?, a.i128(3)?)?)
            }
            I::liquidateCollateralCall::SELECTOR => {
                one_i(e.liquidate_collateral(a.u256(0)?, a.u256(1)?, a.u8(2)?, a.u256(3)?)?)
            }
            I::settleBadDebtCall::SELECTOR => none(e.settle_bad_debt(a.u256(0)?))?,
            _ => return Ok(None),
        }))
    })()
    .transpose()
}

/// Selectors of the upkeep program (forwarded by the accounts program).
pub const UPKEEP_SELECTORS: [[u8; 4]; 4] = [
    I::pokeCall::SELECTOR,
    I::recordSettlementPriceCall::SELECTOR,
    I::settlementPriceCall::SELECTOR,
    I::settleCall::SELECTOR,
];

/// Routes `input` to the upkeep program's methods (dynamic margin state and
/// expiry); `None` for other selectors.
pub fn upkeep(e: &mut KeelEngine, input: &[u8]) -> Option<Result<Vec<u8>>> {
    let (sel, rest) = input.split_first_chunk::<4>()?;
    let a = Args(rest);
    (|| -> Result<Option<Vec<u8>>> {
        Ok(Some(match *sel {
            I::pokeCall::SELECTOR => none(e.poke(a.u8(0)?))?,
            I::recordSettlementPriceCall::SELECTOR => {
                one_i(e.record_settlement_price(a.u8(0)?, a.u64(1)?, a.u80(2)?)?)
            }
            I::settlementPriceCall::SELECTOR => one_i(e.settlement_price(a.u8(0)?, a.u64(1)?)),
            I::settleCall::SELECTOR => one_i(e.settle(a.u256(0)?, a.u32(1)?)?),
            _ => return Ok(None),
        }))
    })()
    .transpose()
}

/// Routes `input` to the admin program's methods; `None` for other selectors.
pub fn admin(e: &mut KeelEngine, input: &[u8]) -> Option<Result<Vec<u8>>> {
    let (sel, rest) = input.split_first_chunk::<4>()?;
    let a = Args(rest);
    (|| -> Result<Option<Vec<u8>>> {
        Ok(Some(match *sel {
            I::ownerCall::SELECTOR => Out::new(1).a(e.owner()).done(),
            I::pendingOwnerCall::SELECTOR => Out::new(1).a(e.pending_owner()).done(),
            I::riskAdminCall::SELECTOR => Out::new(1).a(e.risk_admin()).done(),
            I::guardianCall::SELECTOR => Out::new(1).a(e.guardian()).done(),
            I::transferOwnershipCall::SELECTOR => none(e.transfer_ownership(a.address(0)?))?,
            I::acceptOwnershipCall::SELECTOR => none(e.accept_ownership())?,
            I::setRoleCall::SELECTOR => none(e.set_role(a.u8(0)?, a.address(1)?))?,
            I::setPausedCall::SELECTOR => none(e.set_paused(a.bool(0)?))?,
            I::pausedCall::SELECTOR => one_n(e.paused() as u64),
            I::setMarketCall::SELECTOR => none(e.set_market(a.address(0)?, a.bool(1)?))?,
            I::isMarketCall::SELECTOR => one_n(e.is_market(a.address(0)?) as u64),
            I::setSequencerCall::SELECTOR => none(e.set_sequencer(a.address(0)?, a.u32(1)?))?,
            I::setCollateralCall::SELECTOR => none(e.set_collateral(
                a.u8(0)?,
                a.address(1)?,
                a.address(2)?,
                a.u64(3)?,
                a.u64(4)?,
                a.u64(5)?,
                a.u256(6)?,
            ))?,
            I::collateralCall::SELECTOR => {
                let (t, f, d, ih, mh, cap, total) = e.collateral(a.u8(0)?)?;
                Out::new(7)
                    .a(t)
                    .a(f)
                    .n(d as u64)
                    .n(ih)
                    .n(mh)
                    .u(cap)
                    .u(total)
                    .done()
            }
            I::registryCountsCall::SELECTOR => {
                let (c, u, i) = e.registry_counts();
                Out::new(3).n(c as u64).n(u as u64).n(i as u64).done()
            }
            I::setUnderlyingCall::SELECTOR => none(e.set_underlying(
                a.u8(0)?,
                a.address(1)?,
                a.address(2)?,
                a.u64(3)?,
                a.u64(4)?,
                a.u64(5)?,
                a.u64(6)?,
            ))?,
            I::setSmileCall::SELECTOR => none(e.set_smile(
                a.u8(0)?,
                a.i128(1)?,
                a.i128(2)?,
                a.i128(3)?,
                a.i128(4)?,
                a.i128(5)?,
            ))?,
            I::setEwmaCall::SELECTOR => none(e.set_ewma(
                a.u8(0)?,
                a.i128(1)?,
                a.u64(2)?,
                a.i128(3)?,
                a.u64(4)?,
                a.i128(5)?,
                a.i128(6)?,
                a.i128(7)?,
                a.i128(8)?,
            ))?,
            I::underlyingCall::SELECTOR => {
                let (pf, vf, last, var, r, poke, guard) = e.underlying(a.u8(0)?)?;
                Out::new(7)
                    .a(pf)
                    .a(vf)
                    .i(last)
                    .i(var)
                    .i(r)
                    .n(poke)
                    .n(guard)
                    .done()
            }
            I::setCorrelationCall::SELECTOR => {
                none(e.set_correlation(a.u8(0)?, a.u8(1)?, a.i128(2)?))?
            }
            I::correlationCall::SELECTOR => one_i(e.correlation(a.u8(0)?, a.u8(1)?)),
            I::setRiskParamsCall::SELECTOR => none(e.set_risk_params(
                a.u32(0)?,
                a.i128(1)?,
                a.i128(2)?,
                a.i128(3)?,
                a.i128(4)?,
                a.i128(5)?,
                a.u64(6)?,
                a.bool(7)?,
                a.i128(8)?,
                a.i128(9)?,
                a.i128(10)?,
            ))?,
            I::setConcentrationTiersCall::SELECTOR => {
                none(e.set_concentration_tiers(a.i128_array(0)?, a.i128_array(1)?))?
            }
            I::setLiquidationParamsCall::SELECTOR => none(e.set_liquidation_params(
                a.i128(0)?,
                a.i128(1)?,
                a.i128(2)?,
                a.i128(3)?,
                a.i128(4)?,
                a.u64(5)?,
                a.i128(6)?,
                a.i128(7)?,
            ))?,
            I::liquidationParamsCall::SELECTOR => {
                let (r, d0, d1, d2, b, w, cap, cf) = e.liquidation_params();
                Out::new(8)
                    .i(r)
                    .i(d0)
                    .i(d1)
                    .i(d2)
                    .i(b)
                    .n(w)
                    .i(cap)
                    .i(cf)
                    .done()
            }
            I::setUnderlyingLimitsCall::SELECTOR => {
                none(e.set_underlying_limits(a.u8(0)?, a.u64(1)?, a.u64(2)?, a.u64(3)?))?
            }
            I::underlyingLimitsCall::SELECTOR => {
                let (hb, band, delay) = e.underlying_limits(a.u8(0)?)?;
                Out::new(3).n(hb).n(band).n(delay).done()
            }
            I::setInstrumentLimitsCall::SELECTOR => {
                none(e.set_instrument_limits(a.u32(0)?, a.i128(1)?, a.i128(2)?))?
            }
            I::instrumentLimitsCall::SELECTOR => {
                let (min, cap, oi) = e.instrument_limits(a.u32(0)?)?;
                Out::new(3).i(min).i(cap).i(oi).done()
            }
            I::listInstrumentCall::SELECTOR => {
                one_n(e.list_instrument(a.u8(0)?, a.u8(1)?, a.i128(2)?, a.u64(3)?)? as u64)
            }
            I::instrumentCall::SELECTOR => {
                let (u, k, strike, expiry) = e.instrument(a.u32(0)?)?;
                Out::new(4)
                    .n(u as u64)
                    .n(k as u64)
                    .i(strike)
                    .n(expiry)
                    .done()
            }
            _ => return Ok(None),
        }))
    })()
    .transpose()
}

/// The accounts program (`keel_engine`): builds the engine's storage on `host`,
/// refuses value, routes [`accounts`] and forwards every other selector to the
/// admin program by `delegatecall` (reverting with its data).
pub fn accounts_main(input: Vec<u8>, host: VM) -> ArbResult {
    // SAFETY: the engine's storage is rooted at slot 0 (see state.rs).
    let mut e = unsafe { KeelEngine::new(U256::ZERO, 0, host) };
    if !e.vm().msg_value().is_zero() {
        return Err(Vec::new());
    }
    if let Some(r) = locked(&mut e, accounts, &ACCOUNTS_MUTATING, &input) {
        return r.map_err(|err| err.revert_data());
    }
    let sel = input.first_chunk::<4>();
    let module = if sel.is_some_and(|s| KEEPER_SELECTORS.contains(s)) {
        e.keeper_module.get()
    } else if sel.is_some_and(|s| UPKEEP_SELECTORS.contains(s)) {
        e.upkeep_module.get()
    } else if sel.is_some_and(|s| MARGIN_SELECTORS.contains(s)) {
        e.margin_module.get()
    } else {
        e.admin_module.get()
    };
    if module.is_zero() {
        return Err(Vec::new());
    }
    // SAFETY: the modules are set once by the constructor and are the engine's
    // own programs over the same storage layout (this crate).
    let ctx = Call::new_mutating(&mut e);
    unsafe { delegate_call(e.vm(), ctx, module, &input) }.map_err(|err| match err {
        stylus_sdk::stylus_core::calls::errors::Error::Revert(d) => d,
        _ => Vec::new(),
    })
}

/// The accounts program's state-changing selectors (taken under the lock).
const ACCOUNTS_MUTATING: [[u8; 4]; 4] = [
    I::depositCall::SELECTOR,
    I::withdrawCall::SELECTOR,
    I::fundInsuranceCall::SELECTOR,
    I::reportTradeCall::SELECTOR,
];

/// The upkeep program's state-changing selectors (taken under the lock).
const UPKEEP_MUTATING: [[u8; 4]; 3] = [
    I::pokeCall::SELECTOR,
    I::recordSettlementPriceCall::SELECTOR,
    I::settleCall::SELECTOR,
];

/// Routes `input` with `route`, holding the engine's reentrancy lock when
/// its selector is one of `mutating`: every state-changing entry point that
/// calls out (tokens, feeds, the other programs) runs under one lock in the
/// engine's storage, so a callback into any of them reverts with
/// `KeelReentrantCall` instead of seeing half-written state. This is the
/// engine's own guard, not the SDK's (which the `reentrant` feature turns off
/// and which is deprecated); the engine's build never enables that feature
/// (tests/abi.rs checks its dependency features). Views stay unguarded. A
/// failed call reverts its lock write with everything else.
fn locked(
    e: &mut KeelEngine,
    route: Router,
    mutating: &[[u8; 4]],
    input: &[u8],
) -> Option<Result<Vec<u8>>> {
    let guard = input
        .first_chunk::<4>()
        .is_some_and(|s| mutating.contains(s));
    if guard {
        if e.lock.get().to::<u8>() == LOCK_HELD {
            return Some(Err(crate::errors::EngineError::ReentrantCall(
                crate::errors::KeelReentrantCall {},
            )));
        }
        e.lock.set(alloy_primitives::U8::from(LOCK_HELD));
    }
    let r = route(e, input)?;
    if guard && r.is_ok() {
        e.lock.set(alloy_primitives::U8::from(LOCK_FREE));
    }
    Some(r)
}

/// Lock value while a state-changing call runs.
const LOCK_HELD: u8 = 2;
/// Lock value between calls (non-zero, so taking it is a cheap non-zero write).
const LOCK_FREE: u8 = 1;

/// The admin program (`keel_engine_admin`): routes [`admin`]; any other
/// selector, or value sent, reverts with empty data.
pub fn admin_main(input: Vec<u8>, host: VM) -> ArbResult {
    module_main(admin, &[], input, host)
}

/// The keeper program (`keel_engine_keeper`): routes [`keeper`]; any other
/// selector, or value sent, reverts with empty data.
pub fn keeper_main(input: Vec<u8>, host: VM) -> ArbResult {
    module_main(keeper, &KEEPER_SELECTORS, input, host)
}

/// The upkeep program (`keel_engine_upkeep`): routes [`upkeep`]; any other
/// selector, or value sent, reverts with empty data.
pub fn upkeep_main(input: Vec<u8>, host: VM) -> ArbResult {
    module_main(upkeep, &UPKEEP_MUTATING, input, host)
}

/// The margin program (`keel_engine_margin`): routes [`margin`]; any other
/// selector, or value sent, reverts with empty data.
pub fn margin_main(input: Vec<u8>, host: VM) -> ArbResult {
    module_main(margin, &[], input, host)
}

/// A module program's entry: the engine's storage, no value, one router,
/// the lock held for its `mutating` selectors (see [`locked`]).
fn module_main(route: Router, mutating: &[[u8; 4]], input: Vec<u8>, host: VM) -> ArbResult {
    // SAFETY: the engine's storage is rooted at slot 0 (see state.rs).
    let mut e = unsafe { KeelEngine::new(U256::ZERO, 0, host) };
    if !e.vm().msg_value().is_zero() {
        return Err(Vec::new());
    }
    match locked(&mut e, route, mutating, &input) {
        Some(r) => r.map_err(|err| err.revert_data()),
        None => Err(Vec::new()),
    }
}

/// A program's selector router.
type Router = fn(&mut KeelEngine, &[u8]) -> Option<Result<Vec<u8>>>;

/// Declares a Stylus program's entry point (wasm32 only, the SDK's
/// `#[entrypoint]`) that runs `$main`, one of this module's `*_main`
/// functions. Each engine program crate is this one line plus its docs; the
/// caller needs `extern crate alloc` and a `stylus-sdk` dependency.
#[macro_export]
macro_rules! program_entry {
    ($main:path) => {
        /// The program's Stylus entry point (wasm32 only).
        #[cfg(target_arch = "wasm32")]
        mod program {
            #![allow(missing_docs)]
            use stylus_sdk::prelude::*;

            #[entrypoint]
            fn user_main(
                input: alloc::vec::Vec<u8>,
                host: stylus_sdk::host::VM,
            ) -> stylus_sdk::ArbResult {
                $main(input, host)
            }
        }
    };
}

// The `keel_engine` program's entry point (feature `entrypoint`: the other
// program crates link this one without it).
#[cfg(feature = "entrypoint")]
crate::program_entry!(crate::router::accounts_main);
