//! ERC-20 calls: pull with `transferFrom`, push with `transfer`, read `balanceOf`.
//!
//! A call succeeds when it does not revert and returns either nothing (old
//! tokens such as USDT) or an ABI `true`. Deposits credit the balance change
//! actually observed, so fee-on-transfer tokens cannot over-credit.
use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use stylus_sdk::{
    call::{call, static_call},
    prelude::*,
};

use crate::errors::{EngineError, KeelTokenCallFailed, Result};
use crate::KeelEngine;

/// `transferFrom(address,address,uint256)` selector.
pub const TRANSFER_FROM: [u8; 4] = [0x23, 0xb8, 0x72, 0xdd];
/// `transfer(address,uint256)` selector.
pub const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// `balanceOf(address)` selector.
pub const BALANCE_OF: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];

fn failed(token: Address) -> EngineError {
    EngineError::TokenCallFailed(KeelTokenCallFailed { token })
}

/// ABI-encodes `selector` followed by the given words.
pub fn encode(selector: [u8; 4], words: &[U256]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + 32 * words.len());
    v.extend_from_slice(&selector);
    for w in words {
        v.extend_from_slice(&w.to_be_bytes::<32>());
    }
    v
}

/// An address as an ABI word.
pub fn addr_word(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

fn returned_true(ret: &[u8]) -> bool {
    ret.is_empty() || (ret.len() >= 32 && U256::from_be_slice(&ret[..32]) == U256::from(1u8))
}

impl KeelEngine {
    /// `token.balanceOf(who)`.
    pub(crate) fn token_balance(&self, token: Address, who: Address) -> Result<U256> {
        let ret = static_call(
            self.vm(),
            Call::new(),
            token,
            &encode(BALANCE_OF, &[addr_word(who)]),
        )
        .map_err(|_| failed(token))?;
        if ret.len() < 32 {
            return Err(failed(token));
        }
        Ok(U256::from_be_slice(&ret[..32]))
    }

    /// Pulls `amount` from `from`; returns what this contract actually received.
    pub(crate) fn pull(&mut self, token: Address, from: Address, amount: U256) -> Result<U256> {
        let this = self.vm().contract_address();
        let before = self.token_balance(token, this)?;
        let data = encode(TRANSFER_FROM, &[addr_word(from), addr_word(this), amount]);
        let ctx = Call::new_mutating(self);
        let ret = call(self.vm(), ctx, token, &data).map_err(|_| failed(token))?;
        if !returned_true(&ret) {
            return Err(failed(token));
        }
        let after = self.token_balance(token, this)?;
        after.checked_sub(before).ok_or_else(|| failed(token))
    }

    /// Sends `amount` to `to`.
    pub(crate) fn push(&mut self, token: Address, to: Address, amount: U256) -> Result<()> {
        let data = encode(TRANSFER, &[addr_word(to), amount]);
        let ctx = Call::new_mutating(self);
        let ret = call(self.vm(), ctx, token, &data).map_err(|_| failed(token))?;
        if !returned_true(&ret) {
            return Err(failed(token));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_true_accepts_empty_and_true_only() {
        assert!(returned_true(&[]));
        let mut t = [0u8; 32];
        t[31] = 1;
        assert!(returned_true(&t));
        assert!(!returned_true(&[0u8; 32]));
        assert!(!returned_true(&[1u8]));
    }

    #[test]
    fn encode_lays_out_selector_and_words() {
        let v = encode(TRANSFER, &[U256::from(1u8), U256::from(2u8)]);
        assert_eq!(v.len(), 68);
        assert_eq!(&v[..4], &TRANSFER);
        assert_eq!(v[35], 1);
        assert_eq!(v[67], 2);
    }
}
