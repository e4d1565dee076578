// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Stylus} from "../stylus/Stylus.sol";

/// Interface of the example Stylus contract (devnet/forge-bridge/example-counter),
/// as its `export-abi` would print it.
interface ICounter {
    event Incremented(address indexed by, uint256 value);

    error TooLarge(uint256 value, uint256 max);
    error CallFailed(address target);

    function count() external view returns (uint256);
    function owner() external view returns (address);
    function increment() external returns (uint256);
    function setCount(uint256 value) external;
    function addFrom(address source) external returns (uint256);
    function incrementAndNotify(address listener) external returns (uint256);
    function reentered() external view returns (bool);
    function deposit() external payable returns (uint256);
    function pay(address to, uint256 amount) external;
}

/// A Solidity value source the Stylus contract reads (think: a price feed mock).
contract MockSource {
    uint256 public value;

    function set(uint256 v) external {
        value = v;
    }
}

/// A Solidity protocol that uses the Stylus contract.
contract CounterUser {
    function bumpTwice(ICounter c) external returns (uint256) {
        c.increment();
        return c.increment();
    }

    /// Tries `setCount` and returns the revert data it caught (empty on success).
    function trySet(ICounter c, uint256 v) external returns (bytes memory err) {
        try c.setCount(v) {
            return "";
        } catch (bytes memory e) {
            return e;
        }
    }
}

/// Called back by the counter; calls back into it (reentrancy).
contract Listener {
    ICounter public immutable counter;
    uint256 public seen;
    bool public sawReentrant;

    constructor(ICounter c) {
        counter = c;
    }

    function onCount(uint256 c) external {
        seen = c;
        sawReentrant = counter.reentered();
        counter.increment();
    }
}

/// Integrator example: deploy a Stylus contract with `Stylus.deploy` and test it
/// from Solidity. Every call below executes the contract's real WASM.
contract StylusCounterTest is Test {
    string constant CODE = "target/stylus/stylus_counter_example.code";

    ICounter counter;

    function setUp() public {
        counter = ICounter(Stylus.deploy(CODE, abi.encode(uint256(5))));
    }

    function test_deploy_runsConstructor() public view {
        assertEq(counter.count(), 5);
        assertEq(counter.owner(), address(this));
        assertTrue(Stylus.isStylus(address(counter)));
    }

    function test_deploy_withoutConstructorLeavesStorageEmpty() public {
        ICounter bare = ICounter(Stylus.deploy(CODE));
        assertEq(bare.count(), 0);
        assertEq(bare.owner(), address(0));
        assertTrue(address(bare) != address(counter));
    }

    function test_constructor_revertsWhenCalledTwice() public {
        // The SDK guards the constructor with a flag at keccak("stylus_constructor").
        (bool ok,) = address(counter).call(abi.encodePacked(Stylus.CONSTRUCTOR_SELECTOR, abi.encode(uint256(9))));
        assertFalse(ok);
        assertEq(counter.count(), 5);
    }

    function test_increment_storesInEvmAndEmits() public {
        vm.expectEmit(true, false, false, true, address(counter));
        emit ICounter.Incremented(address(this), 6);
        assertEq(counter.increment(), 6);
        assertEq(counter.count(), 6);
        // Storage lives at the contract's address in the EVM: slot 0 = count.
        assertEq(uint256(vm.load(address(counter), bytes32(0))), 6);
    }

    function test_increment_seesStorageWrittenByEvm() public {
        vm.store(address(counter), bytes32(0), bytes32(uint256(41)));
        assertEq(counter.increment(), 42);
    }

    function test_solidityProtocol_callsStylus() public {
        CounterUser user = new CounterUser();
        vm.expectEmit(true, false, false, true, address(counter));
        emit ICounter.Incremented(address(user), 6);
        assertEq(user.bumpTwice(counter), 7);
    }

    function test_setCount_revertsWithCustomError() public {
        vm.expectRevert(abi.encodeWithSelector(ICounter.TooLarge.selector, 2_000_000, 1_000_000));
        counter.setCount(2_000_000);
    }

    function test_setCount_revertDataCaughtBySolidity() public {
        CounterUser user = new CounterUser();
        bytes memory err = user.trySet(counter, 3_000_000);
        assertEq(err, abi.encodeWithSelector(ICounter.TooLarge.selector, 3_000_000, 1_000_000));
        assertEq(user.trySet(counter, 77).length, 0);
        assertEq(counter.count(), 77);
    }

    function test_addFrom_readsSolidityContract() public {
        MockSource src = new MockSource();
        src.set(37);
        assertEq(counter.addFrom(address(src)), 42);
        src.set(8);
        assertEq(counter.addFrom(address(src)), 50);
    }

    function test_addFrom_revertsWhenSourceHasNoCode() public {
        address nobody = address(0xBEEF);
        vm.expectRevert(abi.encodeWithSelector(ICounter.CallFailed.selector, nobody));
        counter.addFrom(nobody);
    }

    function test_incrementAndNotify_reentersWithFlagSet() public {
        Listener l = new Listener(counter);
        assertFalse(counter.reentered());
        // 5 -> 6 (flushed before the call) -> listener increments to 7 -> read back.
        assertEq(counter.incrementAndNotify(address(l)), 7);
        assertEq(l.seen(), 6);
        assertTrue(l.sawReentrant());
        assertEq(counter.count(), 7);
    }

    function test_pay_movesValueFromContractBalance() public {
        vm.deal(address(this), 1 ether);
        assertEq(counter.deposit{value: 1 ether}(), 1 ether);
        assertEq(address(counter).balance, 1 ether);
        address alice = makeAddr("alice");
        counter.pay(alice, 0.4 ether);
        assertEq(alice.balance, 0.4 ether);
        assertEq(address(counter).balance, 0.6 ether);
        vm.expectRevert(abi.encodeWithSelector(ICounter.CallFailed.selector, alice));
        counter.pay(alice, 5 ether);
    }

    function test_nonPayable_revertsOnValue() public {
        vm.deal(address(this), 1 ether);
        (bool ok, bytes memory ret) = address(counter).call{value: 1}(abi.encodeCall(ICounter.increment, ()));
        assertFalse(ok);
        assertEq(ret.length, 0);
    }
}
