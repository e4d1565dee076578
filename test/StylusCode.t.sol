// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

/// Checks the engine's deployable Stylus code that the test command builds:
/// format and size limits as Nitro enforces them at deployment.
/// (Foundation placeholder: replaced by the bridge-driven suite.)
contract StylusCodeTest is Test {
    string constant CODE = "target/stylus/keel_engine.code";
    uint256 constant DEPLOYED_CODE_LIMIT = 24_576;

    function test_code_hasStylusPrefix() public view {
        bytes memory code = vm.readFileBinary(CODE);
        assertGt(code.length, 4, "empty code");
        assertEq(uint8(code[0]), 0xEF);
        assertEq(uint8(code[1]), 0xF0);
        assertEq(uint8(code[2]), 0x00);
        assertEq(uint8(code[3]), 0x00, "no brotli dictionary");
    }

    function test_code_fitsDeployLimit() public view {
        bytes memory code = vm.readFileBinary(CODE);
        assertLe(code.length, DEPLOYED_CODE_LIMIT);
    }

    function test_initCode_wrapsCode() public view {
        bytes memory code = vm.readFileBinary(CODE);
        bytes memory init = vm.readFileBinary("target/stylus/keel_engine.init");
        assertEq(init.length, code.length + 43);
        assertEq(uint256(bytes32(_slice(init, 1, 32))), code.length);
        assertEq(keccak256(_slice(init, 43, code.length)), keccak256(code));
    }

    function _slice(bytes memory b, uint256 start, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i = 0; i < len; i++) {
            out[i] = b[start + i];
        }
    }
}
