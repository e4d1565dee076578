//! Keel risk calculator: a stateless Arbitrum Stylus program that runs
//! keel-risk's [`account_margin`] for any caller.
//!
//! First step of the engine split (see `contracts/engine/src/lib.rs`, "Size"):
//! the engine gathers an account's collateral, positions and the market from its
//! storage and static-calls this program, which holds the whole fixed-point
//! margin pipeline (Black-76, smile, scenario grid, correlation, ES). The program
//! has no storage and no external calls; the same input always gives the same
//! output, bit for bit equal to keel-risk run natively.
//!
//! # ABI
//!
//! ```solidity
//! function accountMargin(uint256 now, int256 cash, int256[] collaterals, int256[] positions,
//!     int256[] markets, int256[] params, int256[] history) external view
//!     returns (int256 equityIm, int256 equityMm, int256 im, int256 mm, int256 health,
//!              int256[] scanLoss, uint256[] worstIndex);
//! function scenarioPnl(uint256 underlying, uint256 now, int256 cash, int256[] collaterals,
//!     int256[] positions, int256[] markets, int256[] params, int256[] history)
//!     external view returns (int256[] pnl);
//! error RiskInvalidInput(uint8 field, uint256 index);
//! error RiskMathError(uint8 kind);
//! ```
//!
//! The flat word layout of the arrays and the error codes are documented in
//! [`codec`]. Standard ABI encoding; the decoder is hand-written (the SDK's
//! router and alloy's array decoder cost several KB of the 24 KB budget).
#![cfg_attr(not(test), no_main)]

extern crate alloc;

pub mod codec;

use alloc::vec::Vec;
use alloy_sol_types::{SolCall, SolError};
use keel_risk::account_margin;
use stylus_sdk::prelude::*;

pub use abi::{accountMarginCall, scenarioPnlCall, RiskInvalidInput, RiskMathError};
use codec::code;

/// The program's Solidity surface (errors and function signatures).
pub mod abi {
    #![allow(missing_docs)]
    use alloy_sol_types::sol;

    sol! {
        /// Input `field` (a keel-risk `Field` code 0..63, or a calculator code
        /// 64.. from `codec::code`) is invalid at element `index`.
        #[derive(Debug, PartialEq, Eq)]
        error RiskInvalidInput(uint8 field, uint256 index);
        /// Fixed-point arithmetic failed: `kind` 0 overflow, 1 division by zero, 2 domain.
        #[derive(Debug, PartialEq, Eq)]
        error RiskMathError(uint8 kind);

        /// Account margin (all amounts WAD); per underlying its scan loss and worst scenario index.
        function accountMargin(uint256 now, int256 cash, int256[] collaterals, int256[] positions, int256[] markets, int256[] params, int256[] history) external pure returns (int256 equityIm, int256 equityMm, int256 im, int256 mm, int256 health, int256[] scanLoss, uint256[] worstIndex);
        /// The full scenario PnL vector (IM pass) of underlying `underlying`.
        function scenarioPnl(uint256 underlying, uint256 now, int256 cash, int256[] collaterals, int256[] positions, int256[] markets, int256[] params, int256[] history) external pure returns (int256[] pnl);
    }
}

/// Every failure of the calculator, ABI-encoded as a Solidity custom error.
#[derive(SolidityError, Debug, Clone, PartialEq, Eq)]
pub enum RiskCalcError {
    /// Malformed calldata or an input outside its bounds (see [`codec::code`]).
    RiskInvalidInput(RiskInvalidInput),
    /// Arithmetic failure inside keel-risk.
    RiskMathError(RiskMathError),
}

impl RiskCalcError {
    /// The revert data: selector + ABI words. Equal to the `SolidityError`
    /// conversion (`Vec::<u8>::from(err)`, tested) but without alloy's generic
    /// encoder, which costs ~0.5 KB of the deployed-size budget.
    pub fn revert_data(&self) -> Vec<u8> {
        let (selector, words): (_, &[u64]) = match self {
            RiskCalcError::RiskInvalidInput(e) => (
                RiskInvalidInput::SELECTOR,
                &[e.field as u64, e.index.as_limbs()[0]],
            ),
            RiskCalcError::RiskMathError(e) => (RiskMathError::SELECTOR, &[e.kind as u64]),
        };
        let mut out = Vec::with_capacity(4 + 32 * words.len());
        out.extend_from_slice(&selector);
        for w in words {
            out.extend_from_slice(&[0; 24]);
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// `RiskInvalidInput(field, index)`.
pub fn invalid(field: u8, index: u64) -> RiskCalcError {
    RiskCalcError::RiskInvalidInput(RiskInvalidInput {
        field,
        index: alloy_primitives::U256::from(index),
    })
}

/// Runs one call: `input` is the full calldata (selector + ABI arguments); the
/// result is the ABI-encoded return data or the error to revert with. Bad
/// input of any shape or size is a typed error, never a panic.
pub fn dispatch(input: &[u8]) -> Result<Vec<u8>, RiskCalcError> {
    let (selector, args) = match input.split_first_chunk::<4>() {
        Some(s) => s,
        None => return Err(invalid(code::CALLDATA, 0)),
    };
    if *selector == accountMarginCall::SELECTOR {
        let i = codec::decode_inputs(args, 0)?;
        let r = account_margin(&i.portfolio, &i.market, &i.params).map_err(codec::risk_error)?;
        Ok(codec::MarginOutput::from_report(&r).encode())
    } else if *selector == scenarioPnlCall::SELECTOR {
        let u = codec::head_u64(args, 0, code::SCENARIO_UNDERLYING)?;
        let i = codec::decode_inputs(args, 1)?;
        let r = account_margin(&i.portfolio, &i.market, &i.params).map_err(codec::risk_error)?;
        let rep = usize::try_from(u)
            .ok()
            .and_then(|u| r.underlyings.get(u))
            .ok_or(invalid(code::SCENARIO_UNDERLYING, u))?;
        Ok(codec::encode_words(&rep.pnl))
    } else {
        Err(invalid(
            code::CALLDATA,
            u32::from_be_bytes(*selector) as u64,
        ))
    }
}

/// The Stylus entry point (wasm32 only): no router, one pure function of the calldata.
#[cfg(all(target_arch = "wasm32", feature = "entrypoint"))]
mod program {
    #![allow(missing_docs)]
    use stylus_sdk::prelude::*;

    #[entrypoint]
    fn user_main(input: alloc::vec::Vec<u8>, host: stylus_sdk::host::VM) -> stylus_sdk::ArbResult {
        // Non-payable, as the SDK router would make it: value sent here would be stuck.
        if !host.msg_value().is_zero() {
            return Err(alloc::vec::Vec::new());
        }
        crate::dispatch(&input).map_err(|e| e.revert_data())
    }
}
