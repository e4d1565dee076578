//! Chainlink AggregatorV3 reads: price feeds, implied-vol feeds and the Arbitrum
//! sequencer-uptime feed.
//!
//! Decoding is by hand (five ABI words) rather than through `sol!` types: it is
//! a few instructions instead of a generic decoder in the WASM.
use alloy_primitives::{Address, U256};
use stylus_sdk::{call::static_call, prelude::*};

use crate::errors::{
    oracle_reason as reason, EngineError, KeelOracleInvalid, KeelSequencerUnavailable, Result,
};
use crate::KeelEngine;

/// `latestRoundData()` selector.
pub const LATEST_ROUND_DATA: [u8; 4] = [0xfe, 0xaf, 0x96, 0x8c];
/// `decimals()` selector (ERC-20 and AggregatorV3 alike).
pub const DECIMALS: [u8; 4] = [0x31, 0x3c, 0xe5, 0x67];

/// One decoded `latestRoundData()` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// The answer; `None` when it does not fit an `i128`.
    pub answer: Option<i128>,
    /// `startedAt` (seconds, saturated to u64).
    pub started_at: u64,
    /// `updatedAt` (seconds, saturated to u64).
    pub updated_at: u64,
    /// `answeredInRound >= roundId` (false means the round is incomplete).
    pub complete: bool,
}

fn word(data: &[u8], i: usize) -> U256 {
    U256::from_be_slice(&data[i * 32..i * 32 + 32])
}

fn sat_u64(v: U256) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Decodes the five words of `latestRoundData()`; `None` if the data is short.
pub fn decode_round(data: &[u8]) -> Option<Round> {
    if data.len() < 160 {
        return None;
    }
    let raw = word(data, 1);
    let answer = if raw.bit(255) {
        // Negative: two's complement; keep it if it fits so callers can report it.
        let neg = (!raw).wrapping_add(U256::from(1u8));
        u128::try_from(neg)
            .ok()
            .filter(|m| *m <= i128::MAX as u128)
            .map(|m| -(m as i128))
    } else {
        u128::try_from(raw)
            .ok()
            .filter(|m| *m <= i128::MAX as u128)
            .map(|m| m as i128)
    };
    Some(Round {
        answer,
        started_at: sat_u64(word(data, 2)),
        updated_at: sat_u64(word(data, 3)),
        complete: word(data, 4) >= word(data, 0),
    })
}

/// Scales a feed answer with `decimals` (<= 18) to WAD.
pub fn to_wad(answer: i128, decimals: u8) -> Option<i128> {
    answer.checked_mul(10i128.checked_pow(18u32.checked_sub(decimals as u32)?)?)
}

fn invalid(feed: Address, why: u8, updated_at: u64) -> EngineError {
    EngineError::OracleInvalid(KeelOracleInvalid {
        feed,
        reason: why,
        updatedAt: U256::from(updated_at),
    })
}

impl KeelEngine {
    /// Static-calls `latestRoundData()` on `feed`.
    pub(crate) fn read_round(&self, feed: Address) -> Result<Round> {
        static_call(self.vm(), Call::new(), feed, &LATEST_ROUND_DATA)
            .ok()
            .and_then(|d| decode_round(&d))
            .ok_or_else(|| invalid(feed, reason::CALL_FAILED, 0))
    }

    /// Static-calls `getRoundData(uint80 round_id)` on `feed`: a historical
    /// round, decoded like `latestRoundData()` (not validated; `round_id`
    /// must fit 80 bits, the caller's decoder ensures it).
    ///
    /// # Errors
    /// `KeelOracleInvalid(feed, 0 CALL_FAILED, 0)` when the call reverts (e.g.
    /// an unknown round) or answers fewer than five words.
    pub(crate) fn read_round_at(&self, feed: Address, round_id: u128) -> Result<Round> {
        let mut data = [0u8; 36];
        data[..4].copy_from_slice(&[0x9a, 0x6f, 0xc8, 0xf5]); // getRoundData(uint80)
        data[20..].copy_from_slice(&round_id.to_be_bytes());
        static_call(self.vm(), Call::new(), feed, &data)
            .ok()
            .and_then(|d| decode_round(&d))
            .ok_or_else(|| invalid(feed, reason::CALL_FAILED, 0))
    }

    /// Reads `decimals()` of a token or feed; errors when above 18.
    pub(crate) fn read_decimals(&self, target: Address) -> Result<u8> {
        let d = static_call(self.vm(), Call::new(), target, &DECIMALS)
            .ok()
            .filter(|d| d.len() >= 32)
            .map(|d| word(&d, 0))
            .ok_or_else(|| invalid(target, reason::CALL_FAILED, 0))?;
        let d = u8::try_from(d).unwrap_or(u8::MAX);
        crate::params::check(crate::params::field::DECIMALS, d as i128, 0, 18)?;
        Ok(d)
    }

    /// A validated, fresh, positive feed answer scaled to WAD, with its round.
    ///
    /// # Errors
    /// `KeelOracleInvalid` when the call fails, the answer is not positive, the
    /// round is incomplete (`updatedAt == 0` or `answeredInRound < roundId`), or
    /// `now - updatedAt > heartbeat`.
    pub(crate) fn read_price(
        &self,
        feed: Address,
        decimals: u8,
        heartbeat: u64,
    ) -> Result<(i128, Round)> {
        let r = self.read_round(feed)?;
        let a = match r.answer {
            Some(a) if a > 0 => a,
            _ => return Err(invalid(feed, reason::NON_POSITIVE, r.updated_at)),
        };
        if r.updated_at == 0 || !r.complete {
            return Err(invalid(feed, reason::INCOMPLETE, r.updated_at));
        }
        let now = self.vm().block_timestamp();
        if now.saturating_sub(r.updated_at) > heartbeat {
            return Err(invalid(feed, reason::STALE, r.updated_at));
        }
        let p =
            to_wad(a, decimals).ok_or_else(|| invalid(feed, reason::NON_POSITIVE, r.updated_at))?;
        Ok((p, r))
    }

    /// Checks the Arbitrum sequencer-uptime feed (answer 0 = up, 1 = down;
    /// `startedAt` = time of the last status change). No feed configured = no check.
    ///
    /// # Errors
    /// `KeelSequencerUnavailable(startedAt)` when down or within the grace period
    /// after a restart; `KeelOracleInvalid` when the feed cannot be read.
    pub(crate) fn check_sequencer(&self) -> Result<()> {
        let feed = self.sequencer.get();
        if feed.is_zero() {
            return Ok(());
        }
        let r = self.read_round(feed)?;
        let now = self.vm().block_timestamp();
        let grace = self.sequencer_grace.get().to::<u64>();
        if r.answer != Some(0) || now < r.started_at.saturating_add(grace) || r.started_at == 0 {
            return Err(EngineError::SequencerUnavailable(
                KeelSequencerUnavailable {
                    startedAt: U256::from(r.started_at),
                },
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(words: [U256; 5]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect()
    }

    #[test]
    fn decode_round_errors_on_short_data() {
        assert_eq!(decode_round(&[0u8; 159]), None);
    }

    #[test]
    fn decode_round_reads_negative_and_incomplete() {
        let neg = U256::ZERO.wrapping_sub(U256::from(5u8));
        let r = decode_round(&enc([
            U256::from(7u8),
            neg,
            U256::from(1u8),
            U256::from(2u8),
            U256::from(6u8),
        ]))
        .unwrap();
        assert_eq!(r.answer, Some(-5));
        assert_eq!((r.started_at, r.updated_at, r.complete), (1, 2, false));
        let huge = U256::from(1u8) << 200;
        let r = decode_round(&enc([U256::ZERO, huge, huge, huge, U256::ZERO])).unwrap();
        assert_eq!(r.answer, None);
        assert_eq!(r.updated_at, u64::MAX);
        assert!(r.complete);
    }

    #[test]
    fn to_wad_scales_and_errors_above_18_decimals() {
        assert_eq!(to_wad(300_000_000_000, 8), Some(3_000 * WAD_));
        assert_eq!(to_wad(1, 18), Some(1));
        assert_eq!(to_wad(1, 19), None);
        assert_eq!(to_wad(i128::MAX, 0), None);
    }
    const WAD_: i128 = 1_000_000_000_000_000_000;
}
