//! The engine's Solidity ABI: the `IKeelEngine` interface (the single source of
//! every selector the programs route) and a compact word codec for calldata
//! and return data.
//!
//! Why a hand-written codec instead of the SDK's `#[public]` router: the
//! router and alloy's generic decoder cost ~50 KB of WASM for the engine's 57
//! functions (twiggy, release build), a quarter of the code that had to fit the
//! 24,576-byte deployed-code limit. Every argument and result of the engine is
//! a static ABI type or an array of static words, so a reader of 32-byte words
//! and a writer of words is all the ABI we need. `tests/abi.rs` checks the
//! codec against alloy's encoder and decoder for every function of the
//! interface.
//!
//! Decoding follows Solidity's ABI decoder: a word that does not fit its type
//! (dirty high bits of an address or `uintN`, a non-sign-extended `intN`, a
//! `bool` other than 0/1) or calldata that is too short is rejected, with the
//! typed error `KeelInvalidCalldata(argument)`.
use alloc::vec::Vec;
use alloy_primitives::{Address, U256};

use crate::errors::{EngineError, KeelInvalidCalldata};

/// Declares the `IKeelEngine` interface; `$attr` lets native builds add
/// `#[sol(abi)]` (the JSON ABI the Solidity printer uses needs std, so the
/// WASM build leaves it out).
#[macro_export]
#[doc(hidden)]
macro_rules! keel_interface {
    ($(#[$attr:meta])*) => {
        alloy_sol_types::sol! {
            $(#[$attr])*
            #[sol(all_derives)]
            #[allow(missing_docs)]
            interface IKeelEngine {
                // ---- errors
                /// `account` lacks the role (owner, risk admin, guardian, authorised market) the call needs.
                error KeelUnauthorizedAccount(address account);
                /// The zero address was given where an account is required.
                error KeelInvalidAddress();
                /// Parameter `field` (see `params::Field`) is `value`, outside `[min, max]`.
                error KeelParameterOutOfBounds(uint8 field, int256 value, int256 min, int256 max);
                /// A registry (kind 0 collateral, 1 underlying, 2 instrument) has no entry `id`.
                error KeelUnknownEntry(uint8 kind, uint256 id);
                /// A registry (kind as above) or an account list (3 positions) is full, or an
                /// instrument's open interest (4) would exceed its cap `max` (WAD).
                error KeelCapacityExceeded(uint8 kind, uint256 max);
                /// The collateral `id` would exceed its deposit cap.
                error KeelDepositCapExceeded(uint8 id, uint256 cap, uint256 total);
                /// `account` holds `balance` of collateral `id`, less than `needed`.
                error KeelInsufficientBalance(uint256 account, uint8 id, uint256 balance, uint256 needed);
                /// An ERC-20 call to `token` failed or returned false.
                error KeelTokenCallFailed(address token);
                /// A zero or otherwise unusable amount or size.
                error KeelInvalidAmount();
                /// After the call `account` would hold `equity` below the `requirement` (IM), WAD.
                error KeelInsufficientMargin(uint256 account, int256 equity, int256 requirement);
                /// Feed `feed` failed: reason 0 call failed, 1 non-positive answer, 2 incomplete
                /// round, 3 stale (`updatedAt` older than the heartbeat), 4 round before expiry,
                /// 5 not the first round at or after expiry, 6 first round too late after expiry.
                error KeelOracleInvalid(address feed, uint8 reason, uint256 updatedAt);
                /// The L2 sequencer is down, or restarted at `startedAt` and is in its grace period.
                error KeelSequencerUnavailable(uint256 startedAt);
                /// New risk is paused globally (`underlying` = 255) or for `underlying` (oracle guard).
                error KeelNewRiskPaused(uint8 underlying);
                /// `poke` for `underlying` is rate-limited until `nextAllowed` (seconds).
                error KeelPokeTooSoon(uint8 underlying, uint64 nextAllowed);
                /// `account` is in a state (0 healthy, 1 not flagged, 2 already flagged, 3 not
                /// bankrupt, 4 above the liquidation buffer, 5 below it, 6 the liquidation step would lower
                /// its health) where the call is not allowed.
                error KeelInvalidAccountState(uint256 account, uint8 state);
                /// Liquidating `notional` more of `underlying` in this window would exceed `cap`
                /// (`underlying` 255: the value of a collateral taken by `liquidateCollateral`).
                error KeelLiquidationCapExceeded(uint8 underlying, int256 notional, int256 cap);
                /// Instrument `instrument` cannot be traded or settled at this time (`expiry`).
                error KeelInvalidExpiry(uint32 instrument, uint64 expiry);
                /// Settlement price for (`underlying`, `expiry`) is already set (`set` true) or missing.
                error KeelSettlementPrice(uint8 underlying, uint64 expiry, bool set);
                /// `account` has no position in `instrument`, or `size` does not reduce it.
                error KeelInvalidPosition(uint256 account, uint32 instrument, int256 size);
                /// The risk library rejected an input or overflowed: `kind` 0 math, 1 out of
                /// range, 2 too many, 3 other; `field` is keel-risk's `Field` code.
                error KeelRiskError(uint8 kind, uint8 field, int256 value);
                /// Calldata argument `argument` (head word index) is missing or does not fit its type.
                error KeelInvalidCalldata(uint256 argument);
                /// The constructor already ran.
                error KeelAlreadyInitialized();
                /// A state-changing engine call was entered while another one was in progress
                /// (e.g. from a token or feed callback).
                error KeelReentrantCall();
                /// One liquidation step may take at most `max` (WAD: a position size, or a collateral
                /// amount in WAD) of `account`'s position or collateral; `requested` is more (close factor).
                error KeelLiquidationStepTooLarge(uint256 account, int256 requested, int256 max);

                // ---- events
                /// A two-step ownership transfer was started.
                event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
                /// Ownership moved (also emitted by the constructor with `previousOwner` zero).
                event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
                /// Role `role` (1 risk admin, 2 guardian) is now held by `account`.
                event RoleSet(uint8 indexed role, address indexed account);
                /// The global pause of new risk changed.
                event PauseSet(bool paused);
                /// A market contract was (de)authorised to report trades.
                event MarketSet(address indexed market, bool authorised);
                /// Collateral `id` was registered or its parameters changed.
                event CollateralSet(uint8 indexed id, address indexed token, address priceFeed, uint64 imHaircut, uint64 mmHaircut, uint256 depositCap);
                /// Underlying `id` was registered or its oracle/EWMA/smile parameters changed.
                event UnderlyingSet(uint8 indexed id, address indexed priceFeed, address volFeed);
                /// Correlation between two underlyings was set (WAD).
                event CorrelationSet(uint8 indexed a, uint8 indexed b, int128 rho);
                /// Portfolio risk parameters, or liquidation parameters, changed (`which` 0 risk, 1 liquidation, 2 oracle).
                event ParamsSet(uint8 indexed which);
                /// Instrument `id` was listed (kind 0 perp, 1 call, 2 put).
                event InstrumentListed(uint32 indexed id, uint8 indexed underlying, uint8 kind, int128 strike, uint64 expiry);
                /// Collateral was deposited into `account` (token units actually received).
                event Deposited(uint256 indexed account, uint8 indexed collateral, address from, uint256 amount);
                /// Collateral was withdrawn from `account` (token units).
                event Withdrawn(uint256 indexed account, uint8 indexed collateral, address to, uint256 amount);
                /// A market reported a trade; `realisedPnl` moved into cash, `fee` to the market's account.
                event TradeReported(uint256 indexed account, uint32 indexed instrument, address indexed market, int128 sizeDelta, int128 price, int128 fee, int128 realisedPnl);
                /// `poke` updated the dynamic margin state of `underlying`.
                event Poked(uint8 indexed underlying, int128 price, int128 variancePerSecond, int128 scanRange, bool deviation);
                /// `account` was flagged below maintenance margin; `keeper` earned `reward` (cash).
                event AccountFlagged(uint256 indexed account, address indexed keeper, int128 equity, int128 maintenance, int128 reward);
                /// The liquidation flag of `account` was cleared (it recovered).
                event FlagCleared(uint256 indexed account);
                /// `liquidator` took `size` of `instrument` from `account` at `price` (mark moved by `discount`).
                event Liquidated(uint256 indexed account, uint256 indexed liquidator, uint32 indexed instrument, int128 size, int128 price, int128 discount);
                /// `liquidator` bought `amount` (token units) of collateral `id` from `account` for `paid` cash.
                event CollateralLiquidated(uint256 indexed account, uint256 indexed liquidator, uint8 indexed id, uint256 amount, int128 paid);
                /// Settlement price for (`underlying`, `expiry`) recorded from the oracle.
                event SettlementPriceSet(uint8 indexed underlying, uint64 indexed expiry, int128 price);
                /// An expired position settled into cash.
                event PositionSettled(uint256 indexed account, uint32 indexed instrument, int128 size, int128 payout);
                /// The insurance fund changed by `delta` (cash, WAD) and now holds `balance`.
                event InsuranceFundChanged(int128 delta, int128 balance);
                /// A bankrupt account's deficit was covered: `fromInsurance` by the fund, `socialised` by the index.
                event BadDebtSettled(uint256 indexed account, int128 deficit, int128 fromInsurance, int128 socialised, int128 lossIndex);
                /// A loss that neither the insurance fund nor positive cash could cover changed the
                /// protocol deficit by `delta` (cash, WAD; negative = repaid by insurance funding) to `deficit`.
                event DeficitChanged(int128 delta, int128 deficit);
                /// `poke` read the implied-vol feed of `underlying` outside the smile's [minVol, maxVol]:
                /// `answer` was clamped to `used` (WAD), as every margin check does.
                event VolClamped(uint8 indexed underlying, int128 answer, int128 used);
                /// Per-underlying limits changed (vol-feed heartbeat s, trade price band WAD, settlement delay s; 0 = default).
                event UnderlyingLimitsSet(uint8 indexed id, uint64 volHeartbeat, uint64 priceBand, uint64 settlementDelay);
                /// Per-instrument limits changed (minimum position notional and open-interest cap, WAD; cap 0 = none).
                event InstrumentLimitsSet(uint32 indexed id, int128 minNotional, int128 openInterestCap);

                // ---- accounts program (keel_engine, the engine's address)
                function modules() external view returns (address riskCalc, address admin, address keeper, address margin, address upkeep);
                function accountId(address owner, uint64 sub) external pure returns (uint256 account);
                function deposit(uint256 account, uint8 id, uint256 amount) external;
                function withdraw(uint256 account, uint8 id, uint256 amount) external;
                function fundInsurance(uint256 amount) external;
                function insuranceFund() external view returns (int128 balance);
                function lossIndex() external view returns (int128 index);
                function cashBalance(uint256 account) external view returns (int128 cash);
                function collateralBalance(uint256 account, uint8 id) external view returns (uint256 amount);
                function positions(uint256 account) external view returns (uint32[] instruments, int128[] sizes, int128[] entryPrices);
                function flaggedAt(uint256 account) external view returns (uint64 time);
                function reportTrade(uint256 account, uint32 instrument, int128 sizeDelta, int128 price, int128 fee) external returns (int128 cashChange);
                /// Losses no one could be charged for (cash, WAD): settlement-token claims exceed what backs them by this much.
                function protocolDeficit() external view returns (int128 deficit);

                // ---- margin program (keel_engine_margin, reached by delegatecall)
                function accountMargin(uint256 account) external view returns (int128 equityIm, int128 equityMm, int128 im, int128 mm);
                function health(uint256 account) external view returns (int128 health);
                function isLiquidatable(uint256 account) external view returns (bool liquidatable);
                function scenarioPnl(uint256 account, uint8 underlying) external view returns (int128[] pnl, uint32 worstIndex, int128 scanLoss);
                function greeks(uint256 account, uint8 underlying) external view returns (int128 delta, int128 gamma, int128 vega);
                /// Every margin figure of `account` in one call, and whether its live deviation guard
                /// blocks new risk on `newRiskUnderlying` (255 = no underlying: never blocked).
                /// `equity` is the account's value at mark without haircuts (collateral at oracle price,
                /// rounded down), the solvency measure of liquidation and the flag reward.
                function marginFigures(uint256 account, uint8 newRiskUnderlying) external view returns (int128 equityIm, int128 equityMm, int128 im, int128 mm, int128 health, bool newRiskBlocked, int128 equity);
                /// The engine's mark of `instrument` (perp: spot; option: Black-76 at the smile vol, bounded
                /// outside the model's domain as margin values it), the underlying's spot, and the band
                /// [low, high] every reported trade price must lie in (WAD).
                function priceBand(uint32 instrument) external view returns (int128 mark, int128 spot, int128 low, int128 high);
                /// The ATM implied vol margin uses for `underlying` (WAD) and its source: 0 the smile's stored
                /// ATM vol (no feed), 1 the feed, 2 the feed clamped into [minVol, maxVol], 3 the stored ATM vol
                /// because the feed is stale or unreadable (the oracle-confidence add-on is then charged).
                function impliedVol(uint8 underlying) external view returns (int128 vol, uint8 source);

                // ---- keeper program (keel_engine_keeper, reached by delegatecall)
                function flag(uint256 account) external;
                function unflag(uint256 account) external;
                function liquidate(uint256 account, uint256 liquidatorAccount, uint32 instrument, int128 size) external returns (int128 price);
                function liquidateCollateral(uint256 account, uint256 liquidatorAccount, uint8 id, uint256 amount) external returns (int128 paid);
                function settleBadDebt(uint256 account) external;

                // ---- upkeep program (keel_engine_upkeep, reached by delegatecall)
                function poke(uint8 underlying) external;
                function recordSettlementPrice(uint8 underlying, uint64 expiry, uint80 roundId) external returns (int128 price);
                function settlementPrice(uint8 underlying, uint64 expiry) external view returns (int128 price);
                function settle(uint256 account, uint32 instrument) external returns (int128 payout);

                // ---- admin program (keel_engine_admin, reached by delegatecall)
                function owner() external view returns (address);
                function pendingOwner() external view returns (address);
                function riskAdmin() external view returns (address);
                function guardian() external view returns (address);
                function transferOwnership(address newOwner) external;
                function acceptOwnership() external;
                function setRole(uint8 role, address account) external;
                function setPaused(bool paused) external;
                function paused() external view returns (bool);
                function setMarket(address market, bool authorised) external;
                function isMarket(address market) external view returns (bool);
                function setSequencer(address feed, uint32 grace) external;
                function setCollateral(uint8 id, address token, address priceFeed, uint64 heartbeat, uint64 imHaircut, uint64 mmHaircut, uint256 depositCap) external;
                function collateral(uint8 id) external view returns (address token, address priceFeed, uint8 decimals, uint64 imHaircut, uint64 mmHaircut, uint256 depositCap, uint256 totalHeld);
                function registryCounts() external view returns (uint8 collaterals, uint8 underlyings, uint32 instruments);
                function setUnderlying(uint8 id, address priceFeed, address volFeed, uint64 heartbeat, uint64 maxDeviation, uint64 guardCooldown, uint64 confidenceAddon) external;
                function setSmile(uint8 id, int128 atmVol, int128 skew, int128 curvature, int128 minVol, int128 maxVol) external;
                function setEwma(uint8 id, int128 lambda, uint64 lambdaInterval, int128 k, uint64 horizon, int128 rangeMin, int128 rangeMax, int128 maxFallPerDay, int128 apcFloorShare) external;
                function underlying(uint8 id) external view returns (address priceFeed, address volFeed, int128 lastPrice, int128 variancePerSecond, int128 scanRange, uint64 lastPoke, uint64 guardUntil);
                function setCorrelation(uint8 a, uint8 b, int128 rho) external;
                function correlation(uint8 a, uint8 b) external view returns (int128 rho);
                function setRiskParams(uint32 gridK, int128 volDown, int128 volUp, int128 volUpPower, int128 extremeMove, int128 extremeCover, uint64 timeRoll, bool mmReducedGrid, int128 mmFraction, int128 maxOffsetCredit, int128 shortOptionMin) external;
                function setConcentrationTiers(int128[] thresholds, int128[] multipliers) external;
                function setLiquidationParams(int128 flagReward, int128 discountStart, int128 discountPerSecond, int128 discountMax, int128 buffer, uint64 window, int128 cap, int128 closeFactor) external;
                function liquidationParams() external view returns (int128 flagReward, int128 discountStart, int128 discountPerSecond, int128 discountMax, int128 buffer, uint64 window, int128 cap, int128 closeFactor);
                function setUnderlyingLimits(uint8 id, uint64 volHeartbeat, uint64 priceBand, uint64 settlementDelay) external;
                function underlyingLimits(uint8 id) external view returns (uint64 volHeartbeat, uint64 priceBand, uint64 settlementDelay);
                function setInstrumentLimits(uint32 id, int128 minNotional, int128 openInterestCap) external;
                function instrumentLimits(uint32 id) external view returns (int128 minNotional, int128 openInterestCap, int128 openInterest);
                function listInstrument(uint8 underlying, uint8 kind, int128 strike, uint64 expiry) external returns (uint32 id);
                function instrument(uint32 id) external view returns (uint8 underlying, uint8 kind, int128 strike, uint64 expiry);
            }
        }
    };
}

#[cfg(target_arch = "wasm32")]
keel_interface!();
#[cfg(not(target_arch = "wasm32"))]
keel_interface!(#[sol(abi)]);

/// Selector the SDK (and StylusDeployer) use for a program's constructor.
pub const CONSTRUCTOR_SELECTOR: [u8; 4] = [0x55, 0x85, 0x25, 0x8d];

/// The calldata after the selector, read as 32-byte words.
#[derive(Clone, Copy)]
pub struct Args<'a>(pub &'a [u8]);

fn bad(i: usize) -> EngineError {
    EngineError::InvalidCalldata(KeelInvalidCalldata {
        argument: U256::from(i),
    })
}

impl<'a> Args<'a> {
    /// Head word `i`.
    pub fn word(&self, i: usize) -> Result<&'a [u8; 32], EngineError> {
        self.at(i * 32).ok_or_else(|| bad(i))
    }

    fn at(&self, off: usize) -> Option<&'a [u8; 32]> {
        self.0.get(off..off.checked_add(32)?)?.try_into().ok()
    }

    /// Word `i` as an unsigned integer of at most `bits` bits.
    fn uint(&self, i: usize, bits: u32) -> Result<u128, EngineError> {
        let w = self.word(i)?;
        let v = U256::from_be_bytes(*w);
        if bits < 256 && v >> bits != U256::ZERO {
            return Err(bad(i));
        }
        Ok(v.to::<u128>())
    }

    /// `uint256` word `i`.
    pub fn u256(&self, i: usize) -> Result<U256, EngineError> {
        Ok(U256::from_be_bytes(*self.word(i)?))
    }

    /// `uint8` word `i`.
    pub fn u8(&self, i: usize) -> Result<u8, EngineError> {
        Ok(self.uint(i, 8)? as u8)
    }

    /// `uint32` word `i`.
    pub fn u32(&self, i: usize) -> Result<u32, EngineError> {
        Ok(self.uint(i, 32)? as u32)
    }

    /// `uint64` word `i`.
    pub fn u64(&self, i: usize) -> Result<u64, EngineError> {
        Ok(self.uint(i, 64)? as u64)
    }

    /// `uint80` word `i` (a Chainlink round id).
    pub fn u80(&self, i: usize) -> Result<u128, EngineError> {
        self.uint(i, 80)
    }

    /// `bool` word `i`.
    pub fn bool(&self, i: usize) -> Result<bool, EngineError> {
        Ok(self.uint(i, 1)? == 1)
    }

    /// `address` word `i`.
    pub fn address(&self, i: usize) -> Result<Address, EngineError> {
        let w = self.word(i)?;
        if w[..12].iter().any(|b| *b != 0) {
            return Err(bad(i));
        }
        Ok(Address::from_slice(&w[12..]))
    }

    /// `int128` word `i` (must be sign-extended).
    pub fn i128(&self, i: usize) -> Result<i128, EngineError> {
        word_i128(self.word(i)?).ok_or_else(|| bad(i))
    }

    /// `int128[]` whose offset is head word `i`.
    pub fn i128_array(&self, i: usize) -> Result<Vec<i128>, EngineError> {
        let off = self.uint(i, 32)? as usize;
        let len = self
            .at(off)
            .and_then(|w| {
                let v = U256::from_be_bytes(*w);
                (v <= U256::from(u32::MAX)).then(|| v.to::<usize>())
            })
            .ok_or_else(|| bad(i))?;
        (0..len)
            .map(|k| {
                self.at(off + 32 + 32 * k)
                    .and_then(word_i128)
                    .ok_or_else(|| bad(i))
            })
            .collect()
    }
}

/// A two's-complement word as `i128` if it is a sign-extended `int128`.
pub fn word_i128(w: &[u8; 32]) -> Option<i128> {
    let mut b = [0u8; 16];
    b.copy_from_slice(&w[16..]);
    let v = i128::from_be_bytes(b);
    let ext = if v < 0 { 0xff } else { 0 };
    w[..16].iter().all(|x| *x == ext).then_some(v)
}

/// Return data under construction: head words, then the tails of dynamic arrays.
#[derive(Default)]
pub struct Out {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// Number of head words of the tuple (for array offsets).
    head_words: usize,
}

impl Out {
    /// A tuple of `head_words` head words (count each dynamic array as one).
    pub fn new(head_words: usize) -> Self {
        Out {
            head: Vec::with_capacity(32 * head_words),
            tail: Vec::new(),
            head_words,
        }
    }

    /// Appends an unsigned word.
    pub fn u(mut self, v: U256) -> Self {
        self.head.extend_from_slice(&v.to_be_bytes::<32>());
        self
    }

    /// Appends a small unsigned integer (uint8..uint64) or a bool.
    pub fn n(self, v: u64) -> Self {
        self.u(U256::from(v))
    }

    /// Appends an address.
    pub fn a(self, v: Address) -> Self {
        self.u(crate::token::addr_word(v))
    }

    /// Appends a sign-extended `int128`.
    pub fn i(mut self, v: i128) -> Self {
        push_i128(&mut self.head, v);
        self
    }

    /// Appends a dynamic array of signed words (its offset in the head).
    pub fn arr(mut self, v: impl ExactSizeIterator<Item = i128>) -> Self {
        let off = 32 * self.head_words + self.tail.len();
        push_i128(&mut self.head, off as i128);
        push_i128(&mut self.tail, v.len() as i128);
        for x in v {
            push_i128(&mut self.tail, x);
        }
        self
    }

    /// The encoded return data.
    pub fn done(mut self) -> Vec<u8> {
        self.head.append(&mut self.tail);
        self.head
    }
}

/// Appends `v` as a sign-extended 32-byte word.
pub fn push_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&[if v < 0 { 0xff } else { 0 }; 16]);
    out.extend_from_slice(&v.to_be_bytes());
}

/// Encodes a single `int128` result.
pub fn one_i(v: i128) -> Vec<u8> {
    Out::new(1).i(v).done()
}

/// Encodes a single small unsigned / bool result.
pub fn one_n(v: u64) -> Vec<u8> {
    Out::new(1).n(v).done()
}
