//! A tiny Stylus contract for the forge bridge's integrator example
//! (`test/examples/StylusCounter.t.sol`). It touches every path of the bridge:
//! storage reads and writes, a log, a static call to a Solidity contract, a
//! mutating call whose callee calls back into the counter (the SDK's
//! `reentrant` feature is on, so the nested call runs and sees
//! `msg_reentrant`), a custom error, and a constructor.
#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
// On wasm32 the SDK's `#[entrypoint]` generates an undocumented `user_entrypoint`.
#![cfg_attr(target_arch = "wasm32", allow(missing_docs))]

extern crate alloc;

use alloc::vec::Vec;
use alloy_primitives::{Address, U256};
use alloy_sol_types::sol;
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{StorageAddress, StorageU256};

/// Largest value `setCount` accepts.
pub const MAX_COUNT: u64 = 1_000_000;

sol! {
    /// The count changed to `value` by `by`.
    event Incremented(address indexed by, uint256 value);
    /// `setCount` was given more than `max`.
    error TooLarge(uint256 value, uint256 max);
    /// An external call failed (its revert data is dropped).
    error CallFailed(address target);
}

/// Interfaces of the Solidity contracts the counter calls.
#[allow(missing_docs)]
mod interfaces {
    use stylus_sdk::prelude::*;

    sol_interface! {
    /// Any contract with a `value()` getter (a mock price feed, say).
    interface IValueSource {
        function value() external view returns (uint256);
    }
    /// Receives `onCount` after `incrementAndNotify`.
    interface ICountListener {
        function onCount(uint256 count) external;
    }
    }
}
use interfaces::{ICountListener, IValueSource};

/// The counter's errors, ABI-encoded as Solidity custom errors.
#[derive(SolidityError)]
pub enum CounterError {
    /// Value over [`MAX_COUNT`].
    TooLarge(TooLarge),
    /// An external call reverted.
    CallFailed(CallFailed),
}

/// Storage: slot 0 = count, slot 1 = owner.
#[storage]
#[entrypoint]
pub struct Counter {
    count: StorageU256,
    owner: StorageAddress,
}

#[public]
impl Counter {
    /// Sets the initial count; the deployer becomes the owner.
    #[constructor]
    pub fn constructor(&mut self, initial: U256) {
        self.count.set(initial);
        let sender = self.vm().msg_sender();
        self.owner.set(sender);
    }

    /// Current count.
    pub fn count(&self) -> U256 {
        self.count.get()
    }

    /// The deployer.
    pub fn owner(&self) -> Address {
        self.owner.get()
    }

    /// Adds one and emits `Incremented`; returns the new count.
    pub fn increment(&mut self) -> U256 {
        let v = self.count.get() + U256::from(1u8);
        self.count.set(v);
        let by = self.vm().msg_sender();
        self.vm().log(Incremented { by, value: v });
        v
    }

    /// Sets the count.
    ///
    /// # Errors
    /// `TooLarge(value, MAX_COUNT)` above [`MAX_COUNT`].
    pub fn set_count(&mut self, value: U256) -> Result<(), CounterError> {
        let max = U256::from(MAX_COUNT);
        if value > max {
            return Err(CounterError::TooLarge(TooLarge { value, max }));
        }
        self.count.set(value);
        Ok(())
    }

    /// Adds `source.value()` (a static call) to the count; returns the new count.
    ///
    /// # Errors
    /// `CallFailed(source)` when the call reverts or returns garbage.
    pub fn add_from(&mut self, source: Address) -> Result<U256, CounterError> {
        let got = IValueSource::new(source)
            .value(self.vm(), Call::new())
            .map_err(|_| CounterError::CallFailed(CallFailed { target: source }))?;
        let v = self.count.get() + got;
        self.count.set(v);
        Ok(v)
    }

    /// Adds one, then calls `listener.onCount(count)` (the SDK flushes storage
    /// first, so a callback into the counter sees the new count); returns the
    /// count read back after the call, which includes the listener's changes.
    ///
    /// # Errors
    /// `CallFailed(listener)` when the listener reverts.
    pub fn increment_and_notify(&mut self, listener: Address) -> Result<U256, CounterError> {
        let v = self.increment();
        let ctx = Call::new_mutating(self);
        ICountListener::new(listener)
            .on_count(self.vm(), ctx, v)
            .map_err(|_| CounterError::CallFailed(CallFailed { target: listener }))?;
        Ok(self.count.get())
    }

    /// Accepts ether; returns `msg.value`.
    #[payable]
    pub fn deposit(&mut self) -> U256 {
        self.vm().msg_value()
    }

    /// Sends `amount` wei of the counter's balance to `to` (the SDK flushes
    /// storage, then makes a CALL with value and empty calldata).
    ///
    /// # Errors
    /// `CallFailed(to)` when the transfer fails (e.g. not enough balance).
    pub fn pay(&mut self, to: Address, amount: U256) -> Result<(), CounterError> {
        stylus_sdk::call::transfer::transfer_eth(self.vm(), to, amount)
            .map_err(|_| CounterError::CallFailed(CallFailed { target: to }))
    }

    /// `msg_reentrant` of this call: true when the counter is already running lower in the stack.
    pub fn reentered(&self) -> bool {
        self.vm().msg_reentrant()
    }
}
