// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// OpenZeppelin ERC20 with configurable decimals and open minting, for tests
/// (collateral with 6, 8 and 18 decimals).
contract MockERC20 is ERC20 {
    uint8 internal immutable decimals_;

    constructor(string memory name_, string memory symbol_, uint8 d) ERC20(name_, symbol_) {
        decimals_ = d;
    }

    function decimals() public view override returns (uint8) {
        return decimals_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// A token that keeps a fee on every transfer: the engine must credit what it
/// actually received, not the amount requested.
contract FeeOnTransferERC20 is MockERC20 {
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) MockERC20("Fee Token", "FEE", 18) {
        feeBps = feeBps_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value * feeBps / 10_000;
        super._update(from, address(0xdead), fee);
        super._update(from, to, value - fee);
    }
}
