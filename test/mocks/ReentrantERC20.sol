// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MockERC20} from "./MockERC20.sol";

/// A malicious collateral token: once armed, its next transfer (`transfer` or
/// `transferFrom`, i.e. while the engine pulls a deposit or pushes a
/// withdrawal) calls `target` with `payload` before returning, from the
/// token's own address, and records what that call returned. The token
/// ignores the outcome of the callback, so the outer engine call always goes
/// on: a test can then check that the reentrant call was refused and that it
/// changed nothing. `execute` lets a test act as the token (e.g. deposit from
/// and withdraw to the token's own engine account).
contract ReentrantERC20 is MockERC20 {
    address public target;
    bytes public payload;
    bool public armed;
    /// The callback ran (the engine did call the token while armed).
    bool public reentered;
    /// Status and return (or revert) data of the callback.
    bool public reentryOk;
    bytes public reentryRet;

    constructor() MockERC20("Reentrant Token", "REE", 18) {}

    /// Arms the callback for the next transfer.
    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        armed = true;
        reentered = false;
        reentryOk = false;
        delete reentryRet;
    }

    /// Calls `to` with `data` as this token (reverts with the callee's data).
    function execute(address to, bytes calldata data) external returns (bytes memory ret) {
        bool ok;
        (ok, ret) = to.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && from != address(0) && to != address(0)) {
            armed = false;
            reentered = true;
            (reentryOk, reentryRet) = target.call(payload);
        }
    }
}
