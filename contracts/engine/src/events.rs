//! Events: one for every state change, so indexers can rebuild the engine's state.
//!
//! Amounts are WAD (18 decimals) unless they are token amounts (token units).
use alloy_sol_types::sol;

sol! {
    /// A two-step ownership transfer was started.
    #[allow(missing_docs)]
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// Ownership moved (also emitted by the constructor with `previousOwner` zero).
    #[allow(missing_docs)]
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// Role `role` (1 risk admin, 2 guardian) is now held by `account`.
    #[allow(missing_docs)]
    event RoleSet(uint8 indexed role, address indexed account);
    /// The global pause of new risk changed.
    #[allow(missing_docs)]
    event PauseSet(bool paused);
    /// A market contract was (de)authorised to report trades.
    #[allow(missing_docs)]
    event MarketSet(address indexed market, bool authorised);
    /// Collateral `id` was registered or its parameters changed.
    #[allow(missing_docs)]
    event CollateralSet(uint8 indexed id, address indexed token, address priceFeed, uint64 imHaircut, uint64 mmHaircut, uint256 depositCap);
    /// Underlying `id` was registered or its oracle/EWMA/smile parameters changed.
    #[allow(missing_docs)]
    event UnderlyingSet(uint8 indexed id, address indexed priceFeed, address volFeed);
    /// Correlation between two underlyings was set (WAD).
    #[allow(missing_docs)]
    event CorrelationSet(uint8 indexed a, uint8 indexed b, int128 rho);
    /// Portfolio risk parameters, or liquidation parameters, changed (`which` 0 risk, 1 liquidation, 2 oracle).
    #[allow(missing_docs)]
    event ParamsSet(uint8 indexed which);
    /// Instrument `id` was listed (kind 0 perp, 1 call, 2 put).
    #[allow(missing_docs)]
    event InstrumentListed(uint32 indexed id, uint8 indexed underlying, uint8 kind, int128 strike, uint64 expiry);
    /// Collateral was deposited into `account` (token units actually received).
    #[allow(missing_docs)]
    event Deposited(uint256 indexed account, uint8 indexed collateral, address from, uint256 amount);
    /// Collateral was withdrawn from `account` (token units).
    #[allow(missing_docs)]
    event Withdrawn(uint256 indexed account, uint8 indexed collateral, address to, uint256 amount);
    /// A market reported a trade; `realisedPnl` moved into cash, `fee` to the market's account.
    #[allow(missing_docs)]
    event TradeReported(uint256 indexed account, uint32 indexed instrument, address indexed market, int128 sizeDelta, int128 price, int128 fee, int128 realisedPnl);
    /// `poke` updated the dynamic margin state of `underlying`.
    #[allow(missing_docs)]
    event Poked(uint8 indexed underlying, int128 price, int128 variancePerSecond, int128 scanRange, bool deviation);
    /// `account` was flagged below maintenance margin; `keeper` earned `reward` (cash).
    #[allow(missing_docs)]
    event AccountFlagged(uint256 indexed account, address indexed keeper, int128 equity, int128 maintenance, int128 reward);
    /// The liquidation flag of `account` was cleared (it recovered).
    #[allow(missing_docs)]
    event FlagCleared(uint256 indexed account);
    /// `liquidator` took `size` of `instrument` from `account` at `price` (mark moved by `discount`).
    #[allow(missing_docs)]
    event Liquidated(uint256 indexed account, uint256 indexed liquidator, uint32 indexed instrument, int128 size, int128 price, int128 discount);
    /// `liquidator` bought `amount` (token units) of collateral `id` from `account` for `paid` cash.
    #[allow(missing_docs)]
    event CollateralLiquidated(uint256 indexed account, uint256 indexed liquidator, uint8 indexed id, uint256 amount, int128 paid);
    /// Settlement price for (`underlying`, `expiry`) recorded from the oracle.
    #[allow(missing_docs)]
    event SettlementPriceSet(uint8 indexed underlying, uint64 indexed expiry, int128 price);
    /// An expired position settled into cash.
    #[allow(missing_docs)]
    event PositionSettled(uint256 indexed account, uint32 indexed instrument, int128 size, int128 payout);
    /// The insurance fund changed by `delta` (cash, WAD) and now holds `balance`.
    #[allow(missing_docs)]
    event InsuranceFundChanged(int128 delta, int128 balance);
    /// A bankrupt account's deficit was covered: `fromInsurance` by the fund, `socialised` by the index.
    #[allow(missing_docs)]
    event BadDebtSettled(uint256 indexed account, int128 deficit, int128 fromInsurance, int128 socialised, int128 lossIndex);
}
