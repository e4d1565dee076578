//! Events: one for every state change, so indexers can rebuild the engine's state.
//! Declared in the `IKeelEngine` interface ([`crate::abi`]); re-exported here.
//!
//! Amounts are WAD (18 decimals) unless they are token amounts (token units).
pub use crate::abi::IKeelEngine::{
    AccountFlagged, BadDebtSettled, CollateralLiquidated, CollateralSet, CorrelationSet, Deposited,
    FlagCleared, InstrumentListed, InsuranceFundChanged, Liquidated, MarketSet,
    OwnershipTransferStarted, OwnershipTransferred, ParamsSet, PauseSet, Poked, PositionSettled,
    RoleSet, SettlementPriceSet, TradeReported, UnderlyingSet, Withdrawn,
};
