//! The wire protocol between the Solidity shim (`test/stylus/StylusShim.sol`)
//! and `stylus-forge-runner`. Both sides speak plain Solidity ABI: the shim
//! `abi.encode`s a [`Request`], the runner prints `0x` + hex of an
//! `abi.encode`d [`Response`], which `vm.ffi` decodes to bytes.
//!
//! One engine call = one or more *rounds*. In each round the runner re-executes
//! the program from the start. Queries (storage reads, balances, code, call and
//! create results) are answered from the request's answer log, in order; past
//! its end the runner speculates (disk cache, else zero) and keeps going, and
//! records every query and every side effect as a [`Step`]. The shim walks the
//! steps in program order: it performs effects (SSTORE, LOG, CALL, CREATE)
//! exactly once, and checks each speculated answer against the EVM. At the
//! first wrong (or missing) answer it appends the answers up to and including
//! the real one to the log and starts another round; the runner skips the
//! effects already performed (`effectsDone`), which is a prefix of program
//! order by construction. When every step checks out and the response is
//! `complete`, the shim returns or reverts with `output`.

use alloy_primitives::B256;
use alloy_sol_types::sol;

sol! {
    /// Block, transaction and message context of one engine call; fixed for
    /// every round of that call so re-execution is deterministic.
    #[derive(Debug, PartialEq, Eq)]
    struct Context {
        /// The engine's address (`contract_address`, storage owner).
        address contractAddress;
        /// `msg_sender`.
        address sender;
        /// `msg_value` in wei.
        uint256 value;
        /// `tx_origin`.
        address origin;
        /// `tx_gas_price` in wei.
        uint256 gasPrice;
        /// `block_number`.
        uint64 blockNumber;
        /// `block_timestamp` (seconds).
        uint64 timestamp;
        /// `chainid`.
        uint64 chainId;
        /// `block_basefee` in wei.
        uint256 basefee;
        /// `block_coinbase`.
        address coinbase;
        /// `block_gas_limit`.
        uint64 gasLimit;
        /// Gas the program starts with (ink = gas * ink price).
        uint64 gas;
        /// Static context: writes, logs, value transfers and creates fail.
        bool isStatic;
        /// `msg_reentrant`: the engine is already executing lower in the stack.
        bool reentrant;
    }

    /// Runner input for one round.
    #[derive(Debug, PartialEq, Eq)]
    struct Request {
        /// Path of the Stylus code (`EF F0 00 00` + brotli, or raw WASM), relative to the project root.
        string codePath;
        /// Execution context.
        Context ctx;
        /// Calldata.
        bytes input;
        /// Answer log: concatenation of `uint32 big-endian length || answer bytes`, in query order.
        bytes answers;
        /// Number of effects the shim has already performed in this engine call.
        uint32 effectsDone;
        /// Round index within the engine call (0 for the first run); statistics only.
        uint32 round;
        /// Storage hints: `slot || value` pairs (64 bytes each) the shim read
        /// for SLOAD steps after the first wrong answer of the previous round;
        /// the runner speculates them first (they are checked like any guess).
        bytes hints;
    }

    /// One query or effect, in program order.
    #[derive(Debug, PartialEq, Eq)]
    struct Step {
        /// Operation, one of the `OP_*` constants.
        uint8 op;
        /// Account for BALANCE/CODE*/CALL*; zero otherwise.
        address target;
        /// SLOAD/SSTORE slot; LOG topic count; CREATE2 salt; CALL* gas.
        bytes32 key;
        /// SSTORE value; speculated word for SLOAD/BALANCE/CODESIZE/CODEHASH/CODE (code hash); wei for CALL/CREATE*.
        uint256 value;
        /// LOG topics||data; CALL* calldata; CREATE* init code.
        bytes data;
        /// Speculated answer of a CALL*/CREATE* (empty: none, the shim must stop and re-run after it).
        bytes spec;
        /// Offset in `Response.specAnswers` where this step's answer starts
        /// (= length of the answers of all earlier steps).
        uint32 answerStart;
    }

    /// Runner output for one round.
    #[derive(Debug, PartialEq, Eq)]
    struct Response {
        /// Steps after the answer log's end, in program order.
        Step[] steps;
        /// Answer-log encoding of every speculated answer in `steps`, in order.
        bytes specAnswers;
        /// True when the execution ran to its end on these steps (`success`, `output`, `gasUsed` valid).
        bool complete;
        /// Program returned 0 (else revert; a trap is a revert with empty output).
        bool success;
        /// Return or revert data.
        bytes output;
        /// Gas the program used by Stylus ink metering (excluding callees' gas).
        uint64 gasUsed;
    }
}

/// Version of this wire format; `stylus-forge-runner version` prints it
/// ABI-encoded and `Stylus.install` refuses a runner with another one.
pub const PROTOCOL_VERSION: u64 = 1;

/// SLOAD of the engine's own storage (answer: 32-byte word).
pub const OP_SLOAD: u8 = 1;
/// SSTORE of a dirty slot during a storage flush (effect).
pub const OP_SSTORE: u8 = 2;
/// LOG0..LOG4 from the engine's address (effect).
pub const OP_LOG: u8 = 3;
/// BALANCE (answer: 32-byte word).
pub const OP_BALANCE: u8 = 4;
/// EXTCODESIZE (answer: 32-byte word).
pub const OP_CODESIZE: u8 = 5;
/// EXTCODEHASH (answer: 32-byte word).
pub const OP_CODEHASH: u8 = 6;
/// Full code of an account (answer: the code; speculated by its keccak).
pub const OP_CODE: u8 = 7;
/// CALL (effect + answer: `uint8 success || return data`).
pub const OP_CALL: u8 = 8;
/// DELEGATECALL (effect + answer: `uint8 success || return data`).
pub const OP_DELEGATECALL: u8 = 9;
/// STATICCALL (answer: `uint8 success || return data`).
pub const OP_STATICCALL: u8 = 10;
/// CREATE (effect + answer: `address(20) || return data`; zero address on failure).
pub const OP_CREATE1: u8 = 11;
/// CREATE2 (effect + answer: `address(20) || return data`; zero address on failure).
pub const OP_CREATE2: u8 = 12;

/// True for operations the shim performs as side effects (counted in `effectsDone`).
///
/// Calls and creates are both effects and queries: they count as performed
/// effects and their result is an answer.
pub fn is_effect(op: u8) -> bool {
    matches!(
        op,
        OP_SSTORE | OP_LOG | OP_CALL | OP_DELEGATECALL | OP_STATICCALL | OP_CREATE1 | OP_CREATE2
    )
}

/// True for calls and creates: effects whose result is also an answer.
pub fn is_call(op: u8) -> bool {
    is_effect(op) && is_query(op)
}

/// True for operations whose result the program reads (they carry an answer).
pub fn is_query(op: u8) -> bool {
    !matches!(op, OP_SSTORE | OP_LOG)
}

/// Errors decoding protocol data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    /// The answer log ends in the middle of an entry.
    #[error("answer log truncated at byte {0}")]
    TruncatedAnswers(usize),
    /// ABI decoding of a request or response failed.
    #[error("ABI decoding failed: {0}")]
    Abi(String),
}

/// Splits an answer log (`uint32 BE length || bytes`, repeated) into entries.
///
/// # Errors
/// [`ProtocolError::TruncatedAnswers`] when an entry overruns the buffer.
pub fn split_answers(log: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < log.len() {
        let head = log
            .get(at..at + 4)
            .ok_or(ProtocolError::TruncatedAnswers(at))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let body = log
            .get(at + 4..at + 4 + len)
            .ok_or(ProtocolError::TruncatedAnswers(at))?;
        out.push(body.to_vec());
        at += 4 + len;
    }
    Ok(out)
}

/// Parses storage hints (`slot || value`, 64 bytes each; a trailing partial entry is ignored).
pub fn parse_hints(hints: &[u8]) -> std::collections::HashMap<B256, B256> {
    hints
        .chunks_exact(64)
        .map(|c| (B256::from_slice(&c[..32]), B256::from_slice(&c[32..])))
        .collect()
}

/// Appends one entry to an answer log.
pub fn push_answer(log: &mut Vec<u8>, answer: &[u8]) {
    let len = u32::try_from(answer.len()).unwrap_or(u32::MAX);
    log.extend_from_slice(&len.to_be_bytes());
    log.extend_from_slice(answer);
}

impl Request {
    /// ABI-decodes a request as the shim encodes it (`abi.encode(request)`).
    ///
    /// # Errors
    /// [`ProtocolError::Abi`] on malformed input.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        use alloy_sol_types::SolValue;
        <Request as SolValue>::abi_decode(bytes).map_err(|e| ProtocolError::Abi(e.to_string()))
    }

    /// ABI-encodes the request (`abi.encode(request)`).
    pub fn encode(&self) -> Vec<u8> {
        use alloy_sol_types::SolValue;
        self.abi_encode()
    }
}

impl Response {
    /// ABI-encodes the response (`abi.encode(response)`), which the shim decodes with `abi.decode(out, (Response))`.
    pub fn encode(&self) -> Vec<u8> {
        use alloy_sol_types::SolValue;
        self.abi_encode()
    }

    /// ABI-decodes a response.
    ///
    /// # Errors
    /// [`ProtocolError::Abi`] on malformed input.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        use alloy_sol_types::SolValue;
        <Response as SolValue>::abi_decode(bytes).map_err(|e| ProtocolError::Abi(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_answers_round_trips_push_answer() {
        let mut log = Vec::new();
        push_answer(&mut log, &[1, 2, 3]);
        push_answer(&mut log, &[]);
        push_answer(&mut log, &[9; 40]);
        assert_eq!(
            split_answers(&log).unwrap(),
            vec![vec![1, 2, 3], vec![], vec![9; 40]]
        );
    }

    #[test]
    fn split_answers_errors_on_truncated_entry() {
        let mut log = Vec::new();
        push_answer(&mut log, &[1, 2, 3]);
        log.pop();
        assert_eq!(split_answers(&log), Err(ProtocolError::TruncatedAnswers(0)));
        assert_eq!(
            split_answers(&[0, 0]),
            Err(ProtocolError::TruncatedAnswers(0))
        );
    }

    #[test]
    fn response_decode_errors_on_garbage() {
        assert!(matches!(
            Response::decode(&[1, 2, 3]),
            Err(ProtocolError::Abi(_))
        ));
    }
}
