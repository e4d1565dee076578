// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";

/// Wire types shared with `stylus-forge-runner` (devnet/forge-bridge/src/protocol.rs).
/// Field meanings are documented there; keep both sides in the same order.
library StylusWire {
    struct Context {
        address contractAddress;
        address sender;
        uint256 value;
        address origin;
        uint256 gasPrice;
        uint64 blockNumber;
        uint64 timestamp;
        uint64 chainId;
        uint256 basefee;
        address coinbase;
        uint64 gasLimit;
        uint64 gas;
        bool isStatic;
        bool reentrant;
    }

    struct Request {
        string codePath;
        Context ctx;
        bytes input;
        bytes answers;
        uint32 effectsDone;
        uint32 round;
        bytes hints;
    }

    struct Step {
        uint8 op;
        address target;
        bytes32 key;
        uint256 value;
        bytes data;
        bytes spec;
        uint32 answerStart;
    }

    struct Response {
        Step[] steps;
        bytes specAnswers;
        bool complete;
        bool success;
        bytes output;
        uint64 gasUsed;
    }

    uint8 internal constant OP_SLOAD = 1;
    uint8 internal constant OP_SSTORE = 2;
    uint8 internal constant OP_LOG = 3;
    uint8 internal constant OP_BALANCE = 4;
    uint8 internal constant OP_CODESIZE = 5;
    uint8 internal constant OP_CODEHASH = 6;
    uint8 internal constant OP_CODE = 7;
    uint8 internal constant OP_CALL = 8;
    uint8 internal constant OP_DELEGATECALL = 9;
    uint8 internal constant OP_STATICCALL = 10;
    uint8 internal constant OP_CREATE1 = 11;
    uint8 internal constant OP_CREATE2 = 12;
}

/// Fixed addresses and the registry of Stylus programs installed in this test EVM.
/// The registry lives at its own address because the shim's storage *is* the
/// program's storage and must hold nothing else.
library StylusBridgeAddresses {
    /// `address(uint160(uint256(keccak256("keel.stylus.bridge.registry"))))`.
    address internal constant REGISTRY = address(uint160(uint256(keccak256("keel.stylus.bridge.registry"))));
}

/// Maps a program's address to its code file and the runner binary.
contract StylusRegistry {
    struct Entry {
        string code;
        string runner;
    }

    mapping(address => Entry) internal entries;

    /// Programs installed so far (drives the default addresses).
    uint256 public installed;

    /// Records (or replaces) the code and runner of the program at `program`.
    function register(address program, string calldata code, string calldata runner) external {
        entries[program] = Entry(code, runner);
    }

    /// Code path and runner path of `program` (empty strings when not a registered program).
    function info(address program) external view returns (string memory code, string memory runner) {
        Entry storage e = entries[program];
        return (e.code, e.runner);
    }

    /// A fresh, deterministic address for the next program.
    function nextAddress() external returns (address) {
        installed += 1;
        return address(uint160(uint256(keccak256(abi.encode("keel.stylus.program", installed)))));
    }
}

/// Stands in for a Stylus program at its address. Every call runs the program's
/// WASM through `stylus-forge-runner` (vm.ffi) in rounds: the runner re-executes
/// from the start with the answers gathered so far and returns the steps after
/// them; the shim performs effects (SSTORE, LOG, CALL, CREATE) exactly once in
/// program order, checks speculated answers (SLOAD, BALANCE, code, call
/// results) against the EVM, and re-runs from the first wrong one.
/// Storage, logs, balance and msg.sender of callees are the program's own.
contract StylusShim {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// Transient slot counting this address's active non-static frames
    /// (`msg_reentrant` = a frame is already active).
    bytes32 private constant DEPTH_SLOT = bytes32(uint256(keccak256("keel.stylus.bridge.depth")) - 1);
    /// Calldata of the self-call that increments the depth; it fails in a
    /// static context, which is how the shim detects one.
    bytes4 private constant PROBE = bytes4(keccak256("keel.stylus.bridge.probe()"));
    /// Request bytes per hex argument (Linux caps one argument at 128 KiB).
    uint256 private constant CHUNK = 60_000;
    /// Above this size the request goes through a file instead of arguments.
    uint256 private constant FILE_THRESHOLD = 900_000;
    /// Stipend the EVM adds to value calls (the runtime already included it).
    uint256 private constant STIPEND = 2_300;
    /// Most gas a program gets: Arbitrum's per-transaction cap. Forge's test
    /// gas is far larger, and a bad speculation must not run for that long.
    uint256 private constant MAX_PROGRAM_GAS = 32_000_000;

    struct Run {
        StylusWire.Request req;
        string runner;
        uint256 calleeGas;
    }

    fallback(bytes calldata input) external payable returns (bytes memory) {
        if (msg.sender == address(this) && input.length == 4 && bytes4(input) == PROBE) {
            bytes32 slot = DEPTH_SLOT;
            assembly {
                tstore(slot, add(tload(slot), 1))
            }
            return "";
        }
        uint256 gasStart = gasleft();
        Run memory run;
        string memory code;
        (code, run.runner) = StylusRegistry(StylusBridgeAddresses.REGISTRY).info(_programId());
        require(bytes(code).length != 0, "StylusShim: program not registered");
        uint256 depth;
        {
            bytes32 slot = DEPTH_SLOT;
            assembly {
                depth := tload(slot)
            }
        }
        (bool notStatic,) = address(this).call{gas: 20_000}(abi.encodePacked(PROBE));
        run.req.codePath = code;
        run.req.input = input;
        // Nitro counts frames per address for CALL and STATICCALL only: a
        // DELEGATECALL into a program (running at the caller's address) is not
        // a new frame of that address. So a delegated frame takes back the
        // probe's increment (a delegatecall made from it, e.g. one engine
        // program calling another, is not reentrant either), and the caller's
        // own frame (depth 1) does not make it reentrant.
        bool delegated = _programId() != address(this);
        if (delegated && notStatic) {
            bytes32 slot = DEPTH_SLOT;
            assembly {
                tstore(slot, depth)
            }
        }
        run.req.ctx = _context(!notStatic, delegated ? depth > 1 : depth > 0);

        StylusWire.Response memory r;
        for (uint32 round = 0;; round++) {
            run.req.round = round;
            r = _ffi(run.runner, abi.encode(run.req));
            if (!_walk(run, r)) break;
        }
        require(r.complete, "StylusShim: runner returned an incomplete round");
        if (notStatic) {
            bytes32 slot = DEPTH_SLOT;
            assembly {
                tstore(slot, depth)
            }
        }
        _burn(gasStart, run.calleeGas, r.gasUsed);
        bytes memory out = r.output;
        if (r.success) return out;
        assembly {
            revert(add(out, 32), mload(out))
        }
    }

    /// The program this code stands for: the 20 bytes `Stylus.install` appends
    /// to the shim's runtime code. Read from the executing code, so a
    /// DELEGATECALL into the program (a proxy) runs it on the caller's storage,
    /// as on Nitro.
    function _programId() private pure returns (address id) {
        assembly {
            let p := mload(0x40)
            codecopy(p, sub(codesize(), 20), 20)
            id := shr(96, mload(p))
        }
    }

    function _context(bool isStatic, bool reentrant) private view returns (StylusWire.Context memory c) {
        c.contractAddress = address(this);
        c.sender = msg.sender;
        c.value = msg.value;
        c.origin = tx.origin;
        c.gasPrice = tx.gasprice;
        c.blockNumber = uint64(block.number);
        c.timestamp = uint64(block.timestamp);
        c.chainId = uint64(block.chainid);
        c.basefee = block.basefee;
        c.coinbase = block.coinbase;
        c.gasLimit = block.gaslimit > type(uint64).max ? type(uint64).max : uint64(block.gaslimit);
        uint256 g = gasleft();
        // Keep an eighth for the shim's own work (decoding, checks, effects).
        g -= g / 8;
        c.gas = uint64(g > MAX_PROGRAM_GAS ? MAX_PROGRAM_GAS : g);
        c.isStatic = isStatic;
        c.reentrant = reentrant;
    }

    /// Performs the steps in order. Returns true when another round is needed
    /// (after appending the answers up to and including the first wrong one).
    function _walk(Run memory run, StylusWire.Response memory r) private returns (bool) {
        uint256 n = r.steps.length;
        for (uint256 i = 0; i < n; i++) {
            StylusWire.Step memory s = r.steps[i];
            uint8 op = s.op;
            bytes memory real;
            if (op == StylusWire.OP_SSTORE) {
                bytes32 k = s.key;
                uint256 v = s.value;
                assembly {
                    sstore(k, v)
                }
                run.req.effectsDone++;
                continue;
            } else if (op == StylusWire.OP_LOG) {
                _log(uint256(s.key), s.data);
                run.req.effectsDone++;
                continue;
            } else if (op == StylusWire.OP_SLOAD) {
                bytes32 k = s.key;
                uint256 v;
                assembly {
                    v := sload(k)
                }
                if (v == s.value) continue;
                real = abi.encodePacked(v);
            } else if (op == StylusWire.OP_BALANCE) {
                uint256 v = s.target.balance;
                if (v == s.value) continue;
                real = abi.encodePacked(v);
            } else if (op == StylusWire.OP_CODESIZE) {
                uint256 v = s.target.code.length;
                if (v == s.value) continue;
                real = abi.encodePacked(v);
            } else if (op == StylusWire.OP_CODEHASH) {
                bytes32 v = s.target.codehash;
                if (uint256(v) == s.value) continue;
                real = abi.encodePacked(v);
            } else if (op == StylusWire.OP_CODE) {
                real = s.target.code;
                if (uint256(keccak256(real)) == s.value) continue;
            } else if (op >= StylusWire.OP_CALL && op <= StylusWire.OP_STATICCALL) {
                real = _call(run, s);
                run.req.effectsDone++;
                if (s.spec.length != 0 && keccak256(s.spec) == keccak256(real)) continue;
            } else if (op == StylusWire.OP_CREATE1 || op == StylusWire.OP_CREATE2) {
                real = _create(s);
                run.req.effectsDone++;
                if (s.spec.length != 0 && keccak256(s.spec) == keccak256(real)) continue;
            } else {
                revert("StylusShim: unknown step");
            }
            run.req.answers =
                bytes.concat(run.req.answers, _prefix(r.specAnswers, s.answerStart), bytes4(uint32(real.length)), real);
            run.req.hints = _hints(r.steps, i + 1);
            return true;
        }
        return false;
    }

    /// Current values of the slots that SLOAD steps after `from` guessed wrong:
    /// the runner tries them first next round, so one round fixes many guesses.
    function _hints(StylusWire.Step[] memory steps, uint256 from) private view returns (bytes memory h) {
        for (uint256 j = from; j < steps.length; j++) {
            if (steps[j].op != StylusWire.OP_SLOAD) continue;
            bytes32 k = steps[j].key;
            uint256 v;
            assembly {
                v := sload(k)
            }
            if (v != steps[j].value) h = bytes.concat(h, k, bytes32(v));
        }
    }

    function _call(Run memory run, StylusWire.Step memory s) private returns (bytes memory) {
        uint256 g = uint256(s.key);
        bool ok;
        bytes memory ret;
        uint256 before = gasleft();
        if (s.op == StylusWire.OP_CALL) {
            if (s.value != 0 && g >= STIPEND) g -= STIPEND;
            (ok, ret) = s.target.call{gas: g, value: s.value}(s.data);
        } else if (s.op == StylusWire.OP_DELEGATECALL) {
            (ok, ret) = s.target.delegatecall{gas: g}(s.data);
        } else {
            (ok, ret) = s.target.staticcall{gas: g}(s.data);
        }
        run.calleeGas += before - gasleft();
        return abi.encodePacked(ok ? bytes1(0x01) : bytes1(0x00), ret);
    }

    function _create(StylusWire.Step memory s) private returns (bytes memory out) {
        bytes memory init = s.data;
        uint256 v = s.value;
        bytes32 salt = s.key;
        address a;
        if (s.op == StylusWire.OP_CREATE1) {
            assembly {
                a := create(v, add(init, 32), mload(init))
            }
        } else {
            assembly {
                a := create2(v, add(init, 32), mload(init), salt)
            }
        }
        bytes memory ret;
        assembly {
            ret := mload(0x40)
            mstore(ret, returndatasize())
            returndatacopy(add(ret, 32), 0, returndatasize())
            mstore(0x40, add(add(ret, 32), and(add(returndatasize(), 31), not(31))))
        }
        out = abi.encodePacked(a, ret);
    }

    function _log(uint256 topics, bytes memory data) private {
        require(topics <= 4 && data.length >= topics * 32, "StylusShim: bad log");
        uint256 len = data.length - topics * 32;
        bytes32 t0;
        bytes32 t1;
        bytes32 t2;
        bytes32 t3;
        assembly {
            let p := add(data, 32)
            t0 := mload(p)
            t1 := mload(add(p, 32))
            t2 := mload(add(p, 64))
            t3 := mload(add(p, 96))
            let d := add(p, mul(topics, 32))
            switch topics
            case 0 { log0(d, len) }
            case 1 { log1(d, len, t0) }
            case 2 { log2(d, len, t0, t1) }
            case 3 { log3(d, len, t0, t1, t2) }
            default { log4(d, len, t0, t1, t2, t3) }
        }
    }

    /// First `len` bytes of `b`.
    function _prefix(bytes memory b, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly {
            mcopy(add(out, 32), add(b, 32), len)
        }
    }

    function _ffi(string memory runner, bytes memory req) private returns (StylusWire.Response memory) {
        string[] memory cmd;
        string memory file;
        if (req.length <= FILE_THRESHOLD) {
            uint256 chunks = (req.length + CHUNK - 1) / CHUNK;
            if (chunks == 0) chunks = 1;
            cmd = new string[](2 + chunks);
            cmd[0] = runner;
            cmd[1] = "run";
            for (uint256 c = 0; c < chunks; c++) {
                uint256 start = c * CHUNK;
                uint256 end = start + CHUNK > req.length ? req.length : start + CHUNK;
                bytes memory part = new bytes(end - start);
                assembly {
                    mcopy(add(part, 32), add(add(req, 32), start), sub(end, start))
                }
                cmd[2 + c] = vm.toString(part);
            }
        } else {
            file = string.concat("target/stylus-bridge/req-", vm.toString(keccak256(req)), ".bin");
            vm.writeFileBinary(file, req);
            cmd = new string[](3);
            cmd[0] = runner;
            cmd[1] = "run-file";
            cmd[2] = file;
        }
        Vm.FfiResult memory res = vm.tryFfi(cmd);
        if (bytes(file).length != 0) vm.removeFile(file);
        if (res.exitCode != 0) {
            revert(string.concat("StylusShim: runner failed: ", string(res.stderr)));
        }
        return abi.decode(res.stdout, (StylusWire.Response));
    }

    /// Burns gas so the frame costs about what Nitro would charge: the program's
    /// metered gas, less what the shim already spent on its own (storage
    /// effects, checks), plus the callees' gas (already spent by the calls).
    function _burn(uint256 gasStart, uint256 calleeGas, uint256 stylusGas) private view {
        uint256 spent = gasStart - gasleft();
        uint256 own = spent > calleeGas ? spent - calleeGas : 0;
        if (stylusGas <= own) return;
        uint256 target = stylusGas - own;
        uint256 stop = gasleft() > target ? gasleft() - target : 0;
        while (gasleft() > stop) {}
    }
}
