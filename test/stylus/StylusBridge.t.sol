// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Stylus} from "./Stylus.sol";
import {ICounter} from "../examples/StylusCounter.t.sol";

/// Minimal proxy: delegates everything to `impl` (storage stays here).
contract DelegateProxy {
    address immutable impl;

    constructor(address i) {
        impl = i;
    }

    fallback() external payable {
        address i = impl;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), i, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// Bridge mechanics beyond the integrator example: static frames, large
/// payloads (ffi argument chunks and the file path), the registry.
contract StylusBridgeTest is Test {
    string constant CODE = "target/stylus/stylus_counter_example.code";

    ICounter counter;

    function setUp() public {
        counter = ICounter(Stylus.deploy(CODE, abi.encode(uint256(5))));
    }

    function test_staticcall_failsOnWrite() public view {
        // A write in a static frame is a program failure: revert, empty data.
        (bool ok, bytes memory ret) = address(counter).staticcall(abi.encodeCall(ICounter.increment, ()));
        assertFalse(ok);
        assertEq(ret.length, 0);
        assertEq(counter.count(), 5);
    }

    function test_largeCalldata_isSplitOverArguments() public {
        // 150 KB of calldata: the request exceeds one ffi argument (128 KiB cap).
        bytes memory data = abi.encodeWithSelector(ICounter.setCount.selector, uint256(9), new bytes(150_000));
        (bool ok,) = address(counter).call(data);
        assertTrue(ok, "extra calldata after the arguments is ignored by the ABI decoder");
        assertEq(counter.count(), 9);
    }

    function test_hugeCalldata_goesThroughFile() public {
        bytes memory data = abi.encodeWithSelector(ICounter.setCount.selector, uint256(11), new bytes(1_000_000));
        (bool ok,) = address(counter).call(data);
        assertTrue(ok);
        assertEq(counter.count(), 11);
    }

    function test_unknownSelector_revertsEmpty() public {
        (bool ok, bytes memory ret) = address(counter).call(hex"deadbeef");
        assertFalse(ok);
        assertEq(ret.length, 0);
    }

    function test_install_atChosenAddress() public {
        address at = address(0x5151);
        Stylus.install(at, CODE);
        assertTrue(Stylus.isStylus(at));
        assertFalse(Stylus.isStylus(address(this)));
        assertEq(ICounter(at).count(), 0);
        ICounter(at).increment();
        assertEq(ICounter(at).count(), 1);
        assertEq(counter.count(), 5, "separate storage per address");
    }

    function test_delegatecall_runsProgramOnProxyStorage() public {
        ICounter proxy = ICounter(address(new DelegateProxy(address(counter))));
        assertEq(proxy.count(), 0, "the proxy's own storage");
        vm.expectEmit(true, false, false, true, address(proxy));
        emit ICounter.Incremented(address(this), 1);
        assertEq(proxy.increment(), 1);
        assertEq(uint256(vm.load(address(proxy), bytes32(0))), 1);
        assertEq(counter.count(), 5, "the implementation's storage is untouched");
    }

    function test_deploy_revertsOnMissingFile() public {
        vm.expectRevert();
        this.deployMissing();
    }

    function deployMissing() external returns (address) {
        return Stylus.deploy("target/stylus/does_not_exist.code");
    }
}
