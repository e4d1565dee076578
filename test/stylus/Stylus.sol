// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {StylusShim, StylusRegistry, StylusBridgeAddresses} from "./StylusBridge.sol";

/// Deploys Stylus programs into a forge test EVM. The program's real WASM runs
/// on every call (through `stylus-forge-runner`, see `StylusBridge.sol`).
///
/// ```solidity
/// address counter = Stylus.deploy("target/stylus/stylus_counter_example.code", abi.encode(uint256(5)));
/// ```
///
/// Needs `ffi = true` in foundry.toml, read access to the code's directory and
/// read-write access to `target/stylus-bridge`. The runner binary is
/// `$STYLUS_FORGE_RUNNER` if set, else `target/debug/stylus-forge-runner`
/// (`cargo build -p forge-bridge`; `cargo test` builds it too).
library Stylus {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// Selector Stylus SDK 0.10 routes to `#[constructor]` (what StylusDeployer calls).
    bytes4 internal constant CONSTRUCTOR_SELECTOR = 0x5585258d;
    /// Default runner path, relative to the project root.
    string internal constant DEFAULT_RUNNER = "target/debug/stylus-forge-runner";
    /// Wire-format version the shim speaks (`PROTOCOL_VERSION` in devnet/forge-bridge/src/protocol.rs).
    uint256 internal constant PROTOCOL_VERSION = 1;

    /// Installs the program in `path` (deployed code `EF F0 00 ..` or raw WASM)
    /// at a fresh address, without running a constructor (a plain CREATE +
    /// activation on Nitro). Returns the address.
    function deploy(string memory path) internal returns (address program) {
        program = StylusRegistry(_registry()).nextAddress();
        install(program, path);
    }

    /// Installs the program and runs its `#[constructor]` with the ABI-encoded
    /// `ctorArgs` (as StylusDeployer does: calldata `0x5585258d ++ ctorArgs`,
    /// msg.sender = the caller of this function). Reverts with the
    /// constructor's revert data if it reverts.
    function deploy(string memory path, bytes memory ctorArgs) internal returns (address program) {
        return deploy(path, ctorArgs, 0);
    }

    /// As `deploy(path, ctorArgs)`, sending `value` wei to a payable constructor.
    function deploy(string memory path, bytes memory ctorArgs, uint256 value) internal returns (address program) {
        program = deploy(path);
        construct(program, ctorArgs, value);
    }

    /// Installs the program at a chosen address (replacing any code there).
    function install(address program, string memory path) internal {
        bytes memory code = vm.readFileBinary(path);
        require(code.length > 4, string.concat("Stylus: empty program ", path));
        bool prefixed = code[0] == 0xEF && code[1] == 0xF0 && code[2] == 0x00;
        bool wasm = code[0] == 0x00 && code[1] == 0x61 && code[2] == 0x73 && code[3] == 0x6d;
        require(prefixed || wasm, string.concat("Stylus: not Stylus code or WASM: ", path));
        string memory runner = vm.envOr("STYLUS_FORGE_RUNNER", DEFAULT_RUNNER);
        _checkRunner(runner);
        // The shim finds its program by the address appended to its code (see StylusShim._programId).
        vm.etch(program, bytes.concat(type(StylusShim).runtimeCode, bytes20(program)));
        StylusRegistry(_registry()).register(program, path, runner);
        vm.label(program, string.concat("Stylus(", path, ")"));
    }

    /// Runs the constructor of an installed program (see `deploy(path, ctorArgs)`).
    function construct(address program, bytes memory ctorArgs, uint256 value) internal {
        (bool ok, bytes memory ret) = program.call{value: value}(bytes.concat(CONSTRUCTOR_SELECTOR, ctorArgs));
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// True when `program` is a Stylus program installed by this library.
    function isStylus(address program) internal view returns (bool) {
        if (_registryAddress().code.length == 0) return false;
        (string memory code,) = StylusRegistry(_registryAddress()).info(program);
        return bytes(code).length != 0;
    }

    /// Fails early, with a useful message, when the runner is missing or stale.
    function _checkRunner(string memory runner) private {
        string[] memory cmd = new string[](2);
        cmd[0] = runner;
        cmd[1] = "version";
        string memory hint = string.concat(
            "Stylus: runner ",
            runner,
            " missing or out of date: cargo build -p forge-bridge, or set STYLUS_FORGE_RUNNER"
        );
        try vm.tryFfi(cmd) returns (Vm.FfiResult memory r) {
            require(r.exitCode == 0 && r.stdout.length == 32, hint);
            require(abi.decode(r.stdout, (uint256)) == PROTOCOL_VERSION, hint);
        } catch {
            revert(hint);
        }
    }

    function _registryAddress() private pure returns (address) {
        return StylusBridgeAddresses.REGISTRY;
    }

    function _registry() private returns (address r) {
        r = StylusBridgeAddresses.REGISTRY;
        if (r.code.length == 0) {
            vm.etch(r, type(StylusRegistry).runtimeCode);
            vm.label(r, "StylusRegistry");
        }
    }
}
