//! Native tests of every entry point of the engine on the SDK's TestVM (through
//! the `common::Env` host: per-call return data, simulated ERC-20s, Chainlink
//! feeds via `mock_static_call`).
#![allow(missing_docs)]

mod common;

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolEvent;
use common::Env;
use keel_engine::errors::EngineError;
use keel_engine::{account_id, events, KeelEngine, Modules};
use stylus_sdk::stylus_core::{AccountAccess, BlockAccess};

const W: i128 = 1_000_000_000_000_000_000;
const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;

fn a(n: u8) -> Address {
    Address::repeat_byte(n)
}

struct T {
    env: Env,
    e: KeelEngine,
}

const OWNER: u8 = 1;
const USDC: u8 = 2;
const WETH: u8 = 3;
const FEED: u8 = 4;
const SEQ: u8 = 5;
const MARKET: u8 = 6;
const ALICE: u8 = 7;
const BOB: u8 = 8;
const CAROL: u8 = 9;
const VOLFEED: u8 = 10;

/// A price in feed units (8 decimals).
fn p8(n: i128) -> i128 {
    n * 100_000_000
}

/// USDC (6 decimals) as token units.
fn usdc(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000u64)
}

fn alice() -> U256 {
    account_id(a(ALICE), 0)
}

fn bob() -> U256 {
    account_id(a(BOB), 0)
}

impl T {
    fn new() -> T {
        let env = Env::new();
        env.vm.set_block_timestamp(T0);
        env.add_token(a(USDC), 6);
        env.add_token(a(WETH), 18);
        env.set_decimals(a(FEED), 8);
        env.set_feed(a(FEED), p8(3_000), T0);
        env.set_round(a(SEQ), 1, 0, T0 - 10 * DAY, T0 - 10 * DAY, 1);
        let mut e = KeelEngine::from(&env);
        env.vm.set_sender(a(OWNER));
        e.constructor(a(OWNER), a(USDC), a(SEQ), common::modules())
            .unwrap();
        e.set_market(a(MARKET), true).unwrap();
        e.set_underlying(
            0,
            a(FEED),
            Address::ZERO,
            3_600,
            (W / 10) as u64,
            600,
            (W / 20) as u64,
        )
        .unwrap();
        assert_eq!(e.list_instrument(0, 0, 0, 0).unwrap(), 0);
        assert_eq!(
            e.list_instrument(0, 1, 3_000 * W, T0 + 30 * DAY).unwrap(),
            1
        );
        assert_eq!(
            e.list_instrument(0, 2, 3_000 * W, T0 + 30 * DAY).unwrap(),
            2
        );
        e.set_collateral(
            1,
            a(WETH),
            a(FEED),
            3_600,
            (W / 10) as u64,
            (W / 20) as u64,
            U256::from(1_000u64) * U256::from(W as u128),
        )
        .unwrap();
        for who in [ALICE, BOB, CAROL] {
            env.mint(a(USDC), a(who), usdc(1_000_000));
            env.mint(a(WETH), a(who), U256::from(100u64) * U256::from(W as u128));
        }
        T { env, e }
    }

    fn as_(&self, who: u8) -> &Self {
        self.env.vm.set_sender(a(who));
        self
    }

    fn at(&self, t: u64) {
        self.env.vm.set_block_timestamp(t);
        self.env.set_feed(a(FEED), self.price(), t);
    }

    fn price(&self) -> i128 {
        self.env.sim.borrow().price.unwrap_or(p8(3_000))
    }

    fn set_price(&self, p8: i128) {
        self.env.sim.borrow_mut().price = Some(p8);
        let now = self.env.vm.block_timestamp();
        self.env.set_feed(a(FEED), p8, now);
    }

    fn deposit(&mut self, who: u8, id: u8, amount: U256) {
        self.env.vm.set_sender(a(who));
        self.e.deposit(account_id(a(who), 0), id, amount).unwrap();
    }

    fn trade(
        &mut self,
        acct: U256,
        inst: u32,
        size: i128,
        price: i128,
    ) -> Result<i128, EngineError> {
        self.env.vm.set_sender(a(MARKET));
        self.e.report_trade(acct, inst, size, price, 0)
    }

    fn has_log(&self, sig: alloy_primitives::B256) -> bool {
        self.env.logs().iter().any(|(t, _)| t.first() == Some(&sig))
    }
}

/// Asserts `$r` fails with `$p`, rolling storage back like a revert would.
macro_rules! err {
    ($t:ident, $r:expr, $p:pat $(if $g:expr)?) => {{
        let snap = $t.env.snap();
        let r = $r;
        if r.is_err() {
            $t.env.restore(snap);
        }
        match r {
            Err($p) $(if $g)? => {}
            other => panic!("expected {}, got {:?}", stringify!($p), other.map(|_| ())),
        }
    }};
}

// ---------------------------------------------------------------- roles

#[test]
fn constructor_sets_roles_settlement_token_and_emits() {
    let t = T::new();
    assert_eq!(t.e.owner(), a(OWNER));
    assert_eq!(t.e.risk_admin(), a(OWNER));
    assert_eq!(t.e.guardian(), a(OWNER));
    assert_eq!(t.e.loss_index(), W);
    let (token, _, dec, im, mm, cap, total) = t.e.collateral(0).unwrap();
    assert_eq!(
        (token, dec, im, mm, cap, total),
        (a(USDC), 6, 0, 0, U256::MAX, U256::ZERO)
    );
    assert!(t.has_log(events::OwnershipTransferred::SIGNATURE_HASH));
    assert!(t.has_log(events::CollateralSet::SIGNATURE_HASH));
}

#[test]
fn constructor_reverts_when_called_twice_or_zero() {
    let mut t = T::new();
    err!(
        t,
        t.e.constructor(a(BOB), a(USDC), Address::ZERO, ones()),
        EngineError::AlreadyInitialized(_)
    );
    let env = Env::new();
    let mut e = KeelEngine::from(&env);
    err!(
        t,
        e.constructor(Address::ZERO, a(USDC), Address::ZERO, ones()),
        EngineError::InvalidAddress(_)
    );
    let zeroed = [
        Modules {
            risk_calc: Address::ZERO,
            ..ones()
        },
        Modules {
            admin: Address::ZERO,
            ..ones()
        },
        Modules {
            keeper: Address::ZERO,
            ..ones()
        },
        Modules {
            margin: Address::ZERO,
            ..ones()
        },
        Modules {
            upkeep: Address::ZERO,
            ..ones()
        },
    ];
    for m in zeroed {
        err!(
            t,
            e.constructor(a(OWNER), a(USDC), Address::ZERO, m),
            EngineError::InvalidAddress(_)
        );
    }
    assert_eq!(e.modules(), Modules::default(), "nothing initialised");
}

/// Every module at address 1.
fn ones() -> Modules {
    Modules {
        risk_calc: a(1),
        admin: a(1),
        keeper: a(1),
        margin: a(1),
        upkeep: a(1),
    }
}

#[test]
fn transfer_ownership_is_two_step() {
    let mut t = T::new();
    t.as_(BOB);
    err!(
        t,
        t.e.transfer_ownership(a(BOB)),
        EngineError::UnauthorizedAccount(_)
    );
    err!(
        t,
        t.e.accept_ownership(),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(OWNER);
    t.e.transfer_ownership(a(BOB)).unwrap();
    assert_eq!(t.e.pending_owner(), a(BOB));
    t.as_(CAROL);
    err!(
        t,
        t.e.accept_ownership(),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(BOB);
    t.e.accept_ownership().unwrap();
    assert_eq!(t.e.owner(), a(BOB));
    assert_eq!(t.e.pending_owner(), Address::ZERO);
    assert!(t.has_log(events::OwnershipTransferStarted::SIGNATURE_HASH));
}

#[test]
fn set_role_reverts_for_non_owner_zero_and_unknown_role() {
    let mut t = T::new();
    t.as_(BOB);
    err!(
        t,
        t.e.set_role(1, a(BOB)),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(OWNER);
    err!(
        t,
        t.e.set_role(1, Address::ZERO),
        EngineError::InvalidAddress(_)
    );
    err!(
        t,
        t.e.set_role(3, a(BOB)),
        EngineError::ParameterOutOfBounds(_)
    );
    t.e.set_role(1, a(BOB)).unwrap();
    t.e.set_role(2, a(CAROL)).unwrap();
    assert_eq!((t.e.risk_admin(), t.e.guardian()), (a(BOB), a(CAROL)));
    assert!(t.has_log(events::RoleSet::SIGNATURE_HASH));
    // The new risk admin may list; a stranger may not.
    t.as_(BOB);
    t.e.list_instrument(0, 0, 0, 0).unwrap();
    t.as_(ALICE);
    err!(
        t,
        t.e.list_instrument(0, 0, 0, 0),
        EngineError::UnauthorizedAccount(_)
    );
}

#[test]
fn set_paused_only_guardian_or_owner() {
    let mut t = T::new();
    t.as_(OWNER);
    t.e.set_role(2, a(CAROL)).unwrap();
    t.as_(BOB);
    err!(t, t.e.set_paused(true), EngineError::UnauthorizedAccount(_));
    t.as_(CAROL);
    t.e.set_paused(true).unwrap();
    assert!(t.e.paused());
    assert!(t.has_log(events::PauseSet::SIGNATURE_HASH));
}

#[test]
fn set_market_reverts_for_non_owner_and_zero() {
    let mut t = T::new();
    t.as_(BOB);
    err!(
        t,
        t.e.set_market(a(BOB), true),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(OWNER);
    err!(
        t,
        t.e.set_market(Address::ZERO, true),
        EngineError::InvalidAddress(_)
    );
    t.e.set_market(a(MARKET), false).unwrap();
    assert!(!t.e.is_market(a(MARKET)));
}

// ---------------------------------------------------------------- registries

#[test]
fn set_collateral_reverts_out_of_bounds() {
    let mut t = T::new();
    t.as_(OWNER);
    let cap = U256::MAX;
    err!(
        t,
        t.e.set_collateral(
            2,
            a(WETH),
            a(FEED),
            3_600,
            (W / 10) as u64,
            (W / 5) as u64,
            cap
        ),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_collateral(2, a(WETH), a(FEED), 3_600, (W / 100 * 96) as u64, 0, cap),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_collateral(2, a(WETH), a(FEED), 10, 0, 0, cap),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_collateral(5, a(WETH), a(FEED), 3_600, 0, 0, cap),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_collateral(0, a(USDC), Address::ZERO, 0, 1, 0, cap),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_collateral(1, a(BOB), a(FEED), 3_600, 0, 0, cap),
        EngineError::ParameterOutOfBounds(_)
    );
    // A token whose decimals() cannot be read.
    err!(
        t,
        t.e.set_collateral(2, a(99), a(FEED), 3_600, 0, 0, cap),
        EngineError::OracleInvalid(_)
    );
    // Fill the registry (ids 2..7), then the 9th is refused.
    for id in 2..8u8 {
        let tok = a(100 + id);
        t.env.add_token(tok, 18);
        t.e.set_collateral(id, tok, a(FEED), 3_600, 0, 0, cap)
            .unwrap();
    }
    t.env.add_token(a(120), 18);
    err!(
        t,
        t.e.set_collateral(8, a(120), a(FEED), 3_600, 0, 0, cap),
        EngineError::CapacityExceeded(_)
    );
    assert_eq!(t.e.registry_counts().0, 8);
    t.as_(BOB);
    err!(
        t,
        t.e.set_collateral(1, a(WETH), a(FEED), 3_600, 0, 0, cap),
        EngineError::UnauthorizedAccount(_)
    );
}

#[test]
fn set_underlying_reverts_out_of_bounds_and_fills_up() {
    let mut t = T::new();
    t.as_(OWNER);
    let f = a(FEED);
    let z = Address::ZERO;
    let dev = (W / 10) as u64;
    err!(
        t,
        t.e.set_underlying(1, f, z, 30, dev, 600, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_underlying(1, f, z, 3_600, 1, 600, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_underlying(1, f, z, 3_600, dev, 10, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_underlying(1, f, z, 3_600, dev, 600, W as u64),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_underlying(2, f, z, 3_600, dev, 600, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_underlying(1, z, z, 3_600, dev, 600, 0),
        EngineError::InvalidAddress(_)
    );
    for id in 1..8u8 {
        t.e.set_underlying(id, f, z, 3_600, dev, 600, 0).unwrap();
    }
    err!(
        t,
        t.e.set_underlying(8, f, z, 3_600, dev, 600, 0),
        EngineError::CapacityExceeded(_)
    );
    assert!(t.has_log(events::UnderlyingSet::SIGNATURE_HASH));
}

#[test]
fn list_instrument_reverts_out_of_bounds() {
    let mut t = T::new();
    t.as_(OWNER);
    err!(
        t,
        t.e.list_instrument(9, 0, 0, 0),
        EngineError::UnknownEntry(_)
    );
    err!(
        t,
        t.e.list_instrument(0, 3, W, T0 + DAY),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.list_instrument(0, 0, W, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.list_instrument(0, 1, 0, T0 + DAY),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.list_instrument(0, 1, W, T0 + 60),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.list_instrument(0, 2, W, T0 + 3 * 365 * DAY),
        EngineError::ParameterOutOfBounds(_)
    );
    assert_eq!(t.e.instrument(1).unwrap(), (0, 1, 3_000 * W, T0 + 30 * DAY));
    err!(t, t.e.instrument(77), EngineError::UnknownEntry(_));
    assert!(t.has_log(events::InstrumentListed::SIGNATURE_HASH));
}

#[test]
fn risk_and_liquidation_params_are_bounded() {
    let mut t = T::new();
    t.as_(OWNER);
    let ok = |k: u32| {
        (
            k,
            W / 5,
            W / 10 * 3,
            W / 2,
            2 * W,
            W / 100 * 35,
            86_400u64,
            false,
            W / 10 * 7,
            W / 2,
            W / 100,
        )
    };
    let p = ok(0);
    err!(
        t,
        t.e.set_risk_params(p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8, p.9, p.10),
        EngineError::Risk(_)
    );
    let p = ok(5);
    err!(
        t,
        t.e.set_risk_params(p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, 0, p.9, p.10),
        EngineError::Risk(_)
    );
    t.e.set_risk_params(p.0, p.1, p.2, p.3, p.4, p.5, p.6, true, p.8, p.9, p.10)
        .unwrap();
    err!(
        t,
        t.e.set_concentration_tiers(vec![W, W], vec![W, W]),
        EngineError::Risk(_)
    );
    err!(
        t,
        t.e.set_concentration_tiers(vec![W; 5], vec![W; 5]),
        EngineError::CapacityExceeded(_)
    );
    t.e.set_concentration_tiers(vec![1_000 * W], vec![2 * W])
        .unwrap();
    err!(
        t,
        t.e.set_liquidation_params(-1, 0, 0, 0, 0, 600, W, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_liquidation_params(0, W / 5, 0, W / 10, 0, 600, W, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_liquidation_params(0, 0, W, W / 10, 0, 600, W, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_liquidation_params(0, 0, 0, W / 10, 2 * W, 600, W, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_liquidation_params(0, 0, 0, W / 10, 0, 10, W, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.set_liquidation_params(0, 0, 0, W / 10, 0, 600, 0, W / 2),
        EngineError::ParameterOutOfBounds(_)
    );
    t.e.set_liquidation_params(0, 0, 0, W / 10, 0, 600, W, W / 2)
        .unwrap();
    err!(
        t,
        t.e.set_smile(0, 0, 0, 0, W / 10, 3 * W),
        EngineError::Risk(_)
    );
    t.e.set_smile(0, W / 2, 0, 0, W / 10, 3 * W).unwrap();
    err!(
        t,
        t.e.set_smile(4, W / 2, 0, 0, W / 10, 3 * W),
        EngineError::UnknownEntry(_)
    );
    err!(
        t,
        t.e.set_ewma(0, W / 4, DAY, 3 * W, DAY, W / 20, W / 2, W / 5, W / 4),
        EngineError::Risk(_)
    );
    t.e.set_ewma(
        0,
        W / 100 * 94,
        DAY,
        3 * W,
        DAY,
        W / 20,
        W / 5,
        W / 5,
        W / 4,
    )
    .unwrap();
    assert_eq!(
        t.e.underlying(0).unwrap().4,
        W / 5,
        "scan range re-clamped to the new max"
    );
    err!(
        t,
        t.e.set_correlation(0, 0, W),
        EngineError::ParameterOutOfBounds(_)
    );
    t.e.set_underlying(1, a(FEED), Address::ZERO, 3_600, (W / 10) as u64, 600, 0)
        .unwrap();
    err!(
        t,
        t.e.set_correlation(0, 1, 2 * W),
        EngineError::ParameterOutOfBounds(_)
    );
    t.e.set_correlation(1, 0, W / 2).unwrap();
    assert_eq!((t.e.correlation(0, 1), t.e.correlation(1, 1)), (W / 2, W));
    err!(
        t,
        t.e.set_sequencer(a(SEQ), 100_000),
        EngineError::ParameterOutOfBounds(_)
    );
    t.as_(BOB);
    err!(
        t,
        t.e.set_liquidation_params(0, 0, 0, W / 10, 0, 600, W, W / 2),
        EngineError::UnauthorizedAccount(_)
    );
    err!(
        t,
        t.e.set_risk_params(p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8, p.9, p.10),
        EngineError::UnauthorizedAccount(_)
    );
}

// ---------------------------------------------------------------- accounts

#[test]
fn deposit_credits_cash_in_wad_and_emits() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(1_000));
    assert_eq!(t.e.cash_balance(alice()), 1_000 * W);
    assert_eq!(
        t.env.balance(a(USDC), t.env.vm.contract_address()),
        usdc(1_000)
    );
    assert_eq!(t.e.collateral(0).unwrap().6, usdc(1_000));
    assert!(t.has_log(events::Deposited::SIGNATURE_HASH));
    t.deposit(ALICE, 1, U256::from(2u8) * U256::from(W as u128));
    assert_eq!(
        t.e.collateral_balance(alice(), 1),
        U256::from(2u8) * U256::from(W as u128)
    );
}

#[test]
fn deposit_credits_only_what_arrived_from_fee_token() {
    let mut t = T::new();
    t.env.set_fee_bps(a(USDC), 100);
    t.deposit(ALICE, 0, usdc(1_000));
    assert_eq!(t.e.cash_balance(alice()), 990 * W);
}

#[test]
fn deposit_reverts_on_zero_unknown_cap_and_failed_transfer() {
    let mut t = T::new();
    t.env.mint(
        a(WETH),
        a(ALICE),
        U256::from(2_000u64) * U256::from(W as u128),
    );
    t.as_(ALICE);
    err!(
        t,
        t.e.deposit(alice(), 0, U256::ZERO),
        EngineError::InvalidAmount(_)
    );
    err!(
        t,
        t.e.deposit(alice(), 5, usdc(1)),
        EngineError::UnknownEntry(_)
    );
    err!(
        t,
        t.e.deposit(alice(), 1, U256::from(1_001u64) * U256::from(W as u128)),
        EngineError::DepositCapExceeded(_)
    );
    t.as_(CAROL);
    t.env
        .sim
        .borrow_mut()
        .tokens
        .get_mut(&a(USDC))
        .unwrap()
        .balances
        .clear();
    err!(
        t,
        t.e.deposit(alice(), 0, usdc(1)),
        EngineError::TokenCallFailed(_)
    );
}

#[test]
fn withdraw_pays_owner_and_checks_ownership_and_balance() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(1_000));
    t.deposit(ALICE, 1, U256::from(W as u128));
    t.as_(BOB);
    err!(
        t,
        t.e.withdraw(alice(), 0, usdc(1)),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(ALICE);
    err!(
        t,
        t.e.withdraw(alice(), 0, U256::ZERO),
        EngineError::InvalidAmount(_)
    );
    err!(
        t,
        t.e.withdraw(alice(), 1, U256::from(2 * W as u128)),
        EngineError::InsufficientBalance(_)
    );
    let before = t.env.balance(a(USDC), a(ALICE));
    t.e.withdraw(alice(), 0, usdc(400)).unwrap();
    assert_eq!(t.env.balance(a(USDC), a(ALICE)) - before, usdc(400));
    assert_eq!(t.e.cash_balance(alice()), 600 * W);
    t.e.withdraw(alice(), 1, U256::from(W as u128)).unwrap();
    assert_eq!(t.e.collateral_balance(alice(), 1), U256::ZERO);
    assert!(t.has_log(events::Withdrawn::SIGNATURE_HASH));
}

#[test]
fn withdraw_borrows_against_collateral_within_im_only() {
    let mut t = T::new();
    t.deposit(ALICE, 1, U256::from(W as u128)); // 1 WETH = 3000, IM haircut 10% => 2700
    t.deposit(BOB, 0, usdc(10_000));
    t.as_(ALICE);
    t.e.withdraw(alice(), 0, usdc(2_000)).unwrap();
    assert_eq!(t.e.cash_balance(alice()), -2_000 * W);
    err!(
        t,
        t.e.withdraw(alice(), 0, usdc(800)),
        EngineError::InsufficientMargin(_)
    );
    err!(
        t,
        t.e.withdraw(alice(), 1, U256::from(W as u128)),
        EngineError::InsufficientMargin(_)
    );
}

#[test]
fn withdraw_reverts_when_positions_need_the_margin() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(2_000));
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    let (eq, _, im, _) = t.e.account_margin(alice()).unwrap();
    assert!(eq >= im);
    let free = ((eq - im) / W) as u64;
    t.as_(ALICE);
    err!(
        t,
        t.e.withdraw(alice(), 0, usdc(free + 1)),
        EngineError::InsufficientMargin(_)
    );
    t.e.withdraw(alice(), 0, usdc(free)).unwrap();
}

// ---------------------------------------------------------------- trades

#[test]
fn report_trade_reverts_for_non_market_and_bad_inputs() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.as_(ALICE);
    err!(
        t,
        t.e.report_trade(alice(), 0, W, 3_000 * W, 0),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(MARKET);
    err!(
        t,
        t.e.report_trade(alice(), 9, W, 3_000 * W, 0),
        EngineError::UnknownEntry(_)
    );
    err!(
        t,
        t.e.report_trade(alice(), 0, 0, 3_000 * W, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.report_trade(alice(), 0, W, 0, 0),
        EngineError::ParameterOutOfBounds(_)
    );
    err!(
        t,
        t.e.report_trade(alice(), 0, W, 3_000 * W, -1),
        EngineError::ParameterOutOfBounds(_)
    );
}

#[test]
fn report_trade_within_im_books_position_fee_and_event() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.as_(MARKET);
    t.e.report_trade(alice(), 0, 2 * W, 3_000 * W, 3 * W)
        .unwrap();
    let (ids, sizes, entries) = t.e.positions(alice());
    assert_eq!(
        (ids, sizes, entries),
        (vec![0], vec![2 * W], vec![3_000 * W])
    );
    assert_eq!(t.e.cash_balance(alice()), 9_997 * W);
    assert_eq!(t.e.cash_balance(account_id(a(MARKET), 0)), 3 * W);
    assert!(t.has_log(events::TradeReported::SIGNATURE_HASH));
}

#[test]
fn report_trade_reverts_below_im_with_equity_and_requirement() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(1_000));
    let snap = t.env.snap();
    match t.trade(alice(), 0, 10 * W, 3_000 * W) {
        Err(EngineError::InsufficientMargin(e)) => {
            assert_eq!(e.account, alice());
            assert!(e.equity < e.requirement);
            let eq: i128 = e.equity.try_into().unwrap();
            assert_eq!(
                eq,
                1_000 * W,
                "equity is the cash (no PnL at the trade price)"
            );
        }
        other => panic!("{:?}", other),
    }
    t.env.restore(snap);
    t.trade(alice(), 0, W / 10, 3_000 * W).unwrap();
}

#[test]
fn perp_pnl_realises_into_cash_on_close() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    let pnl = t.trade(alice(), 0, -W, 3_100 * W).unwrap();
    assert_eq!(pnl, 100 * W);
    assert_eq!(t.e.cash_balance(alice()), 10_100 * W);
    assert!(t.e.positions(alice()).0.is_empty());
}

#[test]
fn option_premium_moves_through_cash() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    let flow = t.trade(alice(), 1, 2 * W, 150 * W).unwrap();
    assert_eq!(flow, -300 * W);
    assert_eq!(t.e.cash_balance(alice()), 9_700 * W);
    let (_, _, im, _) = t.e.account_margin(alice()).unwrap();
    assert!(im > 0);
    let (pnl, worst, loss) = t.e.scenario_pnl(alice(), 0).unwrap();
    assert!(!pnl.is_empty() && (worst as usize) < pnl.len() && loss > 0);
    assert!(pnl[worst as usize] < 0 && pnl.iter().all(|p| *p >= pnl[worst as usize] || *p < 0));
    let (delta, gamma, vega) = t.e.greeks(alice(), 0).unwrap();
    assert!(delta > 0 && gamma > 0 && vega > 0);
    assert_eq!(t.e.greeks(alice(), 3).unwrap(), (0, 0, 0));
}

#[test]
fn pause_blocks_new_risk_but_not_reductions() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.trade(alice(), 0, 2 * W, 3_000 * W).unwrap();
    t.as_(OWNER);
    t.e.set_paused(true).unwrap();
    err!(
        t,
        t.trade(alice(), 0, W, 3_000 * W),
        EngineError::NewRiskPaused(_)
    );
    err!(
        t,
        t.trade(alice(), 0, -5 * W, 3_000 * W),
        EngineError::NewRiskPaused(_)
    );
    t.trade(alice(), 0, -W, 3_000 * W).unwrap();
    t.deposit(ALICE, 0, usdc(1));
}

#[test]
fn positions_per_account_are_capped() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(1_000_000));
    t.as_(OWNER);
    for _ in 0..16 {
        t.e.list_instrument(0, 0, 0, 0).unwrap();
    }
    for i in 0..16u32 {
        t.trade(alice(), 3 + i, W / 100, 3_000 * W).unwrap();
    }
    err!(
        t,
        t.trade(alice(), 2, W / 100, 10 * W),
        EngineError::CapacityExceeded(_)
    );
    // Closing one frees a slot.
    t.trade(alice(), 3, -W / 100, 3_000 * W).unwrap();
    t.trade(alice(), 2, W / 100, 10 * W).unwrap();
    assert_eq!(t.e.positions(alice()).0.len(), 16);
}

#[test]
fn expired_option_cannot_trade() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.at(T0 + 30 * DAY);
    err!(
        t,
        t.trade(alice(), 1, W, 10 * W),
        EngineError::InvalidExpiry(_)
    );
}

// ---------------------------------------------------------------- oracles

#[test]
fn stale_negative_and_incomplete_rounds_revert() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.env.set_feed(a(FEED), p8(3_000), T0 - 3_601);
    err!(t, t.trade(alice(), 0, W, 3_000 * W), EngineError::OracleInvalid(e) if e.reason == 3);
    t.env.set_feed(a(FEED), -1, T0);
    err!(t, t.trade(alice(), 0, W, 3_000 * W), EngineError::OracleInvalid(e) if e.reason == 1);
    t.env.set_round(a(FEED), 5, p8(3_000), T0, T0, 4);
    err!(t, t.trade(alice(), 0, W, 3_000 * W), EngineError::OracleInvalid(e) if e.reason == 2);
    t.env.set_round(a(FEED), 5, p8(3_000), T0, 0, 5);
    err!(t, t.trade(alice(), 0, W, 3_000 * W), EngineError::OracleInvalid(e) if e.reason == 2);
    t.env
        .mock_static_call(a(FEED), vec![0xfe, 0xaf, 0x96, 0x8c], Err(vec![]));
    err!(t, t.trade(alice(), 0, W, 3_000 * W), EngineError::OracleInvalid(e) if e.reason == 0);
}

#[test]
fn sequencer_down_or_in_grace_reverts() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.env.set_round(a(SEQ), 2, 1, T0 - 100, T0 - 100, 2);
    err!(
        t,
        t.trade(alice(), 0, W, 3_000 * W),
        EngineError::SequencerUnavailable(_)
    );
    t.env.set_round(a(SEQ), 3, 0, T0 - 100, T0 - 100, 3);
    err!(
        t,
        t.trade(alice(), 0, W, 3_000 * W),
        EngineError::SequencerUnavailable(_)
    );
    t.env.set_round(a(SEQ), 3, 0, T0 - 3_601, T0 - 3_601, 3);
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    // Disabling the feed removes the check.
    t.env.set_round(a(SEQ), 4, 1, T0, T0, 4);
    t.as_(OWNER);
    t.e.set_sequencer(Address::ZERO, 0).unwrap();
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
}

#[test]
fn vol_feed_sets_atm_vol_and_raises_option_margin() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(100_000));
    t.trade(alice(), 1, -W, 150 * W).unwrap();
    let (_, _, im_low, _) = t.e.account_margin(alice()).unwrap();
    t.env.set_decimals(a(VOLFEED), 8);
    t.env.set_feed(a(VOLFEED), 2_0000_0000, T0); // 200% vol
    t.as_(OWNER);
    t.e.set_underlying(
        0,
        a(FEED),
        a(VOLFEED),
        3_600,
        (W / 10) as u64,
        600,
        (W / 20) as u64,
    )
    .unwrap();
    let (_, _, im_high, _) = t.e.account_margin(alice()).unwrap();
    assert!(im_high > im_low, "{im_high} > {im_low}");
}

// ---------------------------------------------------------------- poke

#[test]
fn poke_initialises_rate_limits_and_moves_scan_range() {
    let mut t = T::new();
    t.e.poke(0).unwrap();
    let (_, _, last, var, r0, at, _) = t.e.underlying(0).unwrap();
    assert_eq!((last, at), (3_000 * W, T0));
    assert!(
        var > 0 && (W / 20..W / 2).contains(&r0),
        "R from 80% vol: {r0}"
    );
    assert!(t.has_log(events::Poked::SIGNATURE_HASH));
    err!(t, t.e.poke(0), EngineError::PokeTooSoon(e) if e.nextAllowed == T0 + 60);
    err!(t, t.e.poke(3), EngineError::UnknownEntry(_));
    // A 9% move (below the 10% guard) raises the range at once.
    t.at(T0 + 3_600);
    t.set_price(p8(3_270));
    t.e.poke(0).unwrap();
    let (_, _, _, _, r1, _, guard) = t.e.underlying(0).unwrap();
    assert!(r1 > r0, "{r1} > {r0}");
    assert_eq!(guard, 0);
    // Calm afterwards: it falls, but by at most 20% per day.
    t.at(T0 + 3_600 + DAY);
    t.e.poke(0).unwrap();
    let r2 = t.e.underlying(0).unwrap().4;
    assert!(r2 < r1 && r2 >= r1 / 10 * 8, "{r2} vs {r1}");
}

#[test]
fn deviation_guard_pauses_new_risk_and_adds_confidence_charge() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(100_000));
    t.e.poke(0).unwrap();
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    t.at(T0 + 120);
    t.set_price(p8(3_600));
    // Live deviation alone already blocks new risk for this underlying.
    err!(t, t.trade(alice(), 0, W, 3_600 * W), EngineError::NewRiskPaused(e) if e.underlying == 0);
    t.e.poke(0).unwrap();
    let guard = t.e.underlying(0).unwrap().6;
    assert_eq!(guard, T0 + 120 + 600);
    let (_, _, im_guarded, _) = t.e.account_margin(alice()).unwrap();
    err!(
        t,
        t.trade(alice(), 0, W, 3_600 * W),
        EngineError::NewRiskPaused(_)
    );
    t.trade(alice(), 0, -W / 2, 3_600 * W).unwrap();
    t.trade(alice(), 0, W / 2, 3_600 * W)
        .map(|_| ())
        .unwrap_err();
    // After the cooldown (same price, poked again) the add-on is gone.
    t.at(T0 + 120 + 601);
    t.e.poke(0).unwrap();
    let (_, _, im_calm, _) = t.e.account_margin(alice()).unwrap();
    assert!(im_calm < im_guarded, "{im_calm} < {im_guarded}");
    t.trade(alice(), 0, W / 2, 3_600 * W).unwrap();
}

#[test]
fn margin_figures_match_the_views_and_report_the_new_risk_block() {
    use keel_engine::margin::NO_UNDERLYING;
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(100_000));
    t.e.poke(0).unwrap();
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    let f = t.e.margin_figures(alice(), NO_UNDERLYING).unwrap();
    let (ei, em, im, mm) = t.e.account_margin(alice()).unwrap();
    assert_eq!((f.equity_im, f.equity_mm, f.im, f.mm), (ei, em, im, mm));
    assert_eq!(f.health, t.e.health(alice()).unwrap());
    assert!(f.im > 0 && !f.blocked);
    // The same figures through the engine's fallback (delegatecall into the
    // margin program), as every IM check gets them.
    let out = keel_engine::router::accounts_main(
        {
            use alloy_sol_types::SolCall;
            keel_engine::abi::IKeelEngine::marginFiguresCall {
                account: alice(),
                newRiskUnderlying: 0,
            }
            .abi_encode()
        },
        stylus_sdk::host::VM {
            host: Box::new(t.env.clone()),
        },
    )
    .unwrap();
    let r = {
        use alloy_sol_types::SolCall;
        keel_engine::abi::IKeelEngine::marginFiguresCall::abi_decode_returns(&out).unwrap()
    };
    assert_eq!((r.equityIm, r.im, r.health), (f.equity_im, f.im, f.health));
    assert!(!r.newRiskBlocked);
    // A live deviation blocks new risk on the traded underlying only.
    t.at(T0 + 120);
    t.set_price(p8(3_600));
    assert!(t.e.margin_figures(alice(), 0).unwrap().blocked);
    assert!(!t.e.margin_figures(alice(), 1).unwrap().blocked);
    assert!(!t.e.margin_figures(alice(), NO_UNDERLYING).unwrap().blocked);
}

// ---------------------------------------------------------------- liquidation

/// Alice: 2000 cash, long 1 ETH perp at 3000 (scan range 50% before any poke).
fn underwater() -> T {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(2_000));
    t.deposit(BOB, 0, usdc(100_000));
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    t.set_price(p8(1_500));
    assert!(t.e.is_liquidatable(alice()).unwrap());
    t
}

#[test]
fn flag_reverts_when_healthy_and_pays_keeper_once() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(2_000));
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    t.as_(CAROL);
    err!(t, t.e.flag(alice()), EngineError::InvalidAccountState(e) if e.state == 0);
    let mut t = underwater();
    t.as_(CAROL);
    let cash = t.e.cash_balance(alice());
    t.e.flag(alice()).unwrap();
    assert_eq!(t.e.flagged_at(alice()), T0);
    assert_eq!(t.e.cash_balance(account_id(a(CAROL), 0)), 5 * W);
    assert_eq!(t.e.cash_balance(alice()), cash - 5 * W);
    assert!(t.has_log(events::AccountFlagged::SIGNATURE_HASH));
    err!(t, t.e.flag(alice()), EngineError::InvalidAccountState(e) if e.state == 2);
}

#[test]
fn liquidate_reverts_when_not_flagged_wrong_owner_or_size() {
    let mut t = underwater();
    t.as_(BOB);
    err!(t, t.e.liquidate(alice(), bob(), 0, W), EngineError::InvalidAccountState(e) if e.state == 1);
    t.e.flag(alice()).unwrap();
    err!(
        t,
        t.e.liquidate(alice(), account_id(a(CAROL), 0), 0, W),
        EngineError::UnauthorizedAccount(_)
    );
    err!(
        t,
        t.e.liquidate(alice(), alice(), 0, W),
        EngineError::UnauthorizedAccount(_)
    );
    err!(
        t,
        t.e.liquidate(alice(), bob(), 0, -W),
        EngineError::InvalidPosition(_)
    );
    err!(
        t,
        t.e.liquidate(alice(), bob(), 0, 2 * W),
        EngineError::InvalidPosition(_)
    );
    err!(
        t,
        t.e.liquidate(alice(), bob(), 1, W),
        EngineError::InvalidPosition(_)
    );
}

#[test]
fn liquidation_discount_grows_with_time_and_is_capped() {
    let mut t = underwater();
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    // 100 s after the flag: 1% + 0.5%/min x 100 s.
    t.at(T0 + 100);
    let px = t.e.liquidate(alice(), bob(), 0, W / 10).unwrap();
    let d = W / 100 + W / 200 / 60 * 100;
    assert_eq!(px, 1_500 * W - d * 1_500);
    t.at(T0 + 100_000);
    let flagged = t.e.flagged_at(alice()) != 0;
    if flagged {
        let px = t.e.liquidate(alice(), bob(), 0, W / 10).unwrap();
        assert_eq!(px, 1_500 * W - 1_500 * W / 10, "capped at 10%");
    }
    assert!(t.has_log(events::Liquidated::SIGNATURE_HASH));
}

#[test]
fn liquidation_moves_position_to_liquidator_and_clears_flag_at_buffer() {
    let mut t = underwater();
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    // Solvent at mark (equity 500): one step takes at most half (close factor).
    let px = t.e.liquidate(alice(), bob(), 0, W / 2).unwrap();
    assert_eq!(px, 1_485 * W);
    assert_eq!(t.e.positions(bob()).1, vec![W / 2]);
    assert_eq!(t.e.positions(alice()).1, vec![W / 2]);
    // 2000 - 5 reward + 0.5 x (1485 - 3000) realised.
    assert_eq!(t.e.cash_balance(alice()), 1_237 * W + W / 2);
    // Back above MM x 1.1: the flag cleared, no further step.
    assert_eq!(t.e.flagged_at(alice()), 0);
    assert!(t.has_log(events::FlagCleared::SIGNATURE_HASH));
    err!(
        t,
        t.e.liquidate(alice(), bob(), 0, W / 2),
        EngineError::InvalidAccountState(e) if e.state == 1
    );
}

#[test]
fn liquidator_must_hold_im() {
    let mut t = underwater();
    t.as_(CAROL);
    t.e.flag(alice()).unwrap();
    // Carol's account holds only the 5 reward.
    err!(
        t,
        t.e.liquidate(alice(), account_id(a(CAROL), 0), 0, W / 2),
        EngineError::InsufficientMargin(_)
    );
}

#[test]
fn liquidation_stops_above_buffer_and_unflag_needs_recovery() {
    let mut t = underwater();
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    err!(t, t.e.unflag(alice()), EngineError::InvalidAccountState(e) if e.state == 5);
    // Price recovers: the account is above MM x 1.1, liquidation refused.
    t.set_price(p8(3_000));
    err!(t, t.e.liquidate(alice(), bob(), 0, W / 2), EngineError::InvalidAccountState(e) if e.state == 4);
    t.e.unflag(alice()).unwrap();
    assert_eq!(t.e.flagged_at(alice()), 0);
    err!(t, t.e.unflag(alice()), EngineError::InvalidAccountState(e) if e.state == 1);
}

#[test]
fn anti_cascade_cap_limits_notional_per_window() {
    let mut t = underwater();
    t.as_(OWNER);
    // Base cap 50, scaled x4 at most (R = 50% vs R_min 5%): 200 of notional.
    t.e.set_liquidation_params(
        5 * W,
        W / 100,
        W / 200 / 60,
        W / 10,
        W / 10,
        3_600,
        50 * W,
        W / 2,
    )
    .unwrap();
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    t.e.liquidate(alice(), bob(), 0, W / 10).unwrap(); // 150 notional
    err!(t, t.e.liquidate(alice(), bob(), 0, W / 10), EngineError::LiquidationCapExceeded(e) if e.underlying == 0);
    // Next window.
    t.at(T0 + 3_600);
    t.e.liquidate(alice(), bob(), 0, W / 10).unwrap();
}

#[test]
fn liquidate_collateral_buys_at_discount() {
    let mut t = T::new();
    t.deposit(ALICE, 1, U256::from(W as u128)); // 1 WETH
    t.deposit(BOB, 0, usdc(100_000));
    t.as_(ALICE);
    t.e.withdraw(alice(), 0, usdc(2_600)).unwrap();
    t.set_price(p8(2_700));
    assert!(t.e.is_liquidatable(alice()).unwrap());
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    err!(
        t,
        t.e.liquidate_collateral(alice(), bob(), 1, U256::from(2 * W as u128)),
        EngineError::InsufficientBalance(_)
    );
    err!(
        t,
        t.e.liquidate_collateral(alice(), bob(), 0, U256::from(1u8)),
        EngineError::UnknownEntry(_)
    );
    // Solvent at mark (2,700 - 2,605 = 95): at most half per step.
    err!(
        t,
        t.e.liquidate_collateral(alice(), bob(), 1, U256::from(W as u128)),
        EngineError::LiquidationStepTooLarge(_)
    );
    let half = U256::from((W / 2) as u128);
    let paid = t.e.liquidate_collateral(alice(), bob(), 1, half).unwrap();
    // 1,350 at mark less the 1% auction discount.
    assert_eq!(paid, 1_336 * W + W / 2);
    assert_eq!(t.e.collateral_balance(bob(), 1), half);
    assert_eq!(t.e.cash_balance(alice()), -2_605 * W + paid);
    let f = t.e.margin_figures(alice(), 255).unwrap();
    assert!(f.equity >= 0, "{f:?}");
    assert!(t.has_log(events::CollateralLiquidated::SIGNATURE_HASH));
}

// ---------------------------------------------------------------- bad debt

#[test]
fn bad_debt_uses_insurance_then_socialises_by_index() {
    let mut t = underwater();
    t.deposit(CAROL, 0, usdc(10_000));
    t.as_(CAROL);
    t.e.fund_insurance(usdc(200)).unwrap();
    assert_eq!(t.e.insurance_fund(), 200 * W);
    err!(t, t.e.settle_bad_debt(alice()), EngineError::InvalidAccountState(e) if e.state == 3);
    t.set_price(500_00000000);
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    t.e.liquidate(alice(), bob(), 0, W).unwrap();
    let debt = -t.e.cash_balance(alice());
    // Equity at mark was negative at the flag: no keeper reward.
    assert_eq!(debt, 3_000 * W - 495 * W - 2_000 * W);
    let bob_before = t.e.cash_balance(bob());
    let carol_before = t.e.cash_balance(account_id(a(CAROL), 0));
    t.e.settle_bad_debt(alice()).unwrap();
    assert_eq!(t.e.cash_balance(alice()), 0);
    assert_eq!(t.e.insurance_fund(), 0);
    let idx = t.e.loss_index();
    assert!(idx < W);
    let bob_after = t.e.cash_balance(bob());
    let carol_after = t.e.cash_balance(account_id(a(CAROL), 0));
    let lost = (bob_before - bob_after) + (carol_before - carol_after);
    // Everyone with positive cash pays pro rata; the keeper's 5 and the rest round down.
    // Rounding of the index and of each balance favours the protocol by a few wei.
    assert!(
        (lost - (debt - 200 * W)).abs() <= W / 1_000_000_000,
        "{lost}"
    );
    // Pro rata: Bob held ~10x Carol's cash, so he lost ~10x as much.
    let (lb, lc) = (bob_before - bob_after, carol_before - carol_after);
    let (rb, rc) = (
        lb as f64 / bob_before as f64,
        lc as f64 / carol_before as f64,
    );
    assert!((rb - rc).abs() < 1e-12 && rb > 0.0, "{rb} vs {rc}");
    assert!(bob_after < bob_before && carol_after < carol_before);
    assert!(t.has_log(events::BadDebtSettled::SIGNATURE_HASH));
    assert!(t.has_log(events::InsuranceFundChanged::SIGNATURE_HASH));
}

// ---------------------------------------------------------------- expiry

#[test]
fn settlement_price_is_recorded_once_from_the_first_round_after_expiry() {
    let mut t = T::new();
    let exp = T0 + 30 * DAY;
    err!(
        t,
        t.e.record_settlement_price(0, exp, 10),
        EngineError::InvalidExpiry(_)
    );
    t.env.vm.set_block_timestamp(exp + 7_200);
    t.env
        .set_round(a(FEED), 8, p8(3_100), exp - 60, exp - 60, 8);
    t.env.set_round(a(FEED), 9, p8(3_200), exp - 1, exp - 1, 9);
    err!(t, t.e.record_settlement_price(0, exp, 9), EngineError::OracleInvalid(e) if e.reason == 4);
    t.env
        .set_round(a(FEED), 10, p8(3_300), exp + 5, exp + 5, 10);
    t.env
        .set_round(a(FEED), 11, p8(9_999), exp + 60, exp + 60, 11);
    // Round 11 is after expiry but not the first such round: refused, so the
    // caller cannot pick the moment.
    err!(t, t.e.record_settlement_price(0, exp, 11), EngineError::OracleInvalid(e) if e.reason == 5);
    assert_eq!(t.e.record_settlement_price(0, exp, 10).unwrap(), 3_300 * W);
    assert_eq!(t.e.settlement_price(0, exp), 3_300 * W);
    err!(t, t.e.record_settlement_price(0, exp, 10), EngineError::SettlementPrice(e) if e.set);
    assert!(t.has_log(events::SettlementPriceSet::SIGNATURE_HASH));
    // The first round after an expiry must come within the settlement delay (1 h).
    let late = T0 + 31 * DAY;
    t.env.vm.set_block_timestamp(late + 7_200);
    t.env
        .set_round(a(FEED), 20, p8(3_000), late - 10, late - 10, 20);
    t.env
        .set_round(a(FEED), 21, p8(3_000), late + 3_601, late + 3_601, 21);
    err!(t, t.e.record_settlement_price(0, late, 21), EngineError::OracleInvalid(e) if e.reason == 6);
}

#[test]
fn settle_pays_intrinsic_into_cash() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(10_000));
    t.deposit(BOB, 0, usdc(10_000));
    t.trade(alice(), 1, 2 * W, 100 * W).unwrap();
    t.trade(bob(), 1, -2 * W, 100 * W).unwrap();
    t.trade(alice(), 2, W, 100 * W).unwrap();
    let exp = T0 + 30 * DAY;
    err!(t, t.e.settle(alice(), 1), EngineError::InvalidExpiry(_));
    t.env.vm.set_block_timestamp(exp);
    t.env.set_round(a(FEED), 9, p8(3_000), exp - 1, exp - 1, 9);
    t.env.set_feed(a(FEED), p8(3_200), exp);
    err!(t, t.e.settle(alice(), 1), EngineError::SettlementPrice(e) if !e.set);
    err!(t, t.e.settle(alice(), 0), EngineError::InvalidExpiry(_));
    t.e.record_settlement_price(0, exp, 10).unwrap();
    assert_eq!(t.e.settle(alice(), 1).unwrap(), 400 * W);
    assert_eq!(t.e.settle(bob(), 1).unwrap(), -400 * W);
    assert_eq!(t.e.settle(alice(), 2).unwrap(), 0);
    assert_eq!(t.e.cash_balance(alice()), (10_000 - 300 + 400) * W);
    assert_eq!(t.e.cash_balance(bob()), (10_000 + 200 - 400) * W);
    err!(t, t.e.settle(alice(), 1), EngineError::InvalidPosition(_));
    assert!(t.e.positions(alice()).0.is_empty());
    assert!(t.has_log(events::PositionSettled::SIGNATURE_HASH));
}

#[test]
fn account_id_packs_owner_and_sub() {
    let t = T::new();
    let id = t.e.account_id(a(ALICE), 7);
    assert_eq!(keel_engine::account_owner(id), a(ALICE));
    assert_eq!(id & U256::from(u64::MAX), U256::from(7u8));
}

// ---------------------------------------------------------------- issue 10: attack properties

#[test]
fn positions_below_the_minimum_notional_are_refused() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(2_000));
    // 0.003 ETH x 3,000 = 9 < 10.
    err!(t, t.trade(alice(), 0, 3 * W / 1_000, 3_000 * W),
        EngineError::ParameterOutOfBounds(e) if e.field == 26);
    t.trade(alice(), 0, 4 * W / 1_000, 3_000 * W).unwrap();
    // Reducing to dust is refused too; closing fully is fine.
    err!(t, t.trade(alice(), 0, -W / 1_000, 3_000 * W),
        EngineError::ParameterOutOfBounds(e) if e.field == 26);
    t.trade(alice(), 0, -4 * W / 1_000, 3_000 * W).unwrap();
}

/// The flag reward never exceeds the account's equity at mark.
#[test]
fn flag_reward_is_capped_by_equity_at_mark() {
    let mut t = underwater();
    t.set_price(p8(998));
    // Equity at mark: 2,000 - 2,002 = -2 < 0: no reward at all.
    let f = t.e.margin_figures(alice(), 255).unwrap();
    assert_eq!(f.equity, -2 * W);
    t.as_(CAROL);
    let cash = t.e.cash_balance(alice());
    t.e.flag(alice()).unwrap();
    assert_eq!(t.e.cash_balance(alice()), cash);
    assert_eq!(t.e.cash_balance(account_id(a(CAROL), 0)), 0);
}

/// A vol answer beyond the smile's max is clamped (not a revert), a stale
/// vol feed falls back to the stored ATM vol, and a perp-only account never
/// reads the vol feed.
#[test]
fn vol_feed_is_clamped_falls_back_and_is_read_only_for_options() {
    let mut t = T::new();
    t.env.set_decimals(a(VOLFEED), 8);
    t.env.set_feed(a(VOLFEED), 350_000_000, T0); // 350% > 300% max
    t.as_(OWNER);
    t.e.set_underlying(
        0,
        a(FEED),
        a(VOLFEED),
        3_600,
        (W / 10) as u64,
        600,
        (W / 20) as u64,
    )
    .unwrap();
    assert_eq!(t.e.implied_vol(0).unwrap(), (3 * W, 2));
    t.deposit(ALICE, 0, usdc(5_000));
    t.trade(alice(), 1, -W, 300 * W).unwrap();
    assert!(t.e.health(alice()).is_ok());
    // Stale vol feed: fallback to the stored 80%, margin still computes.
    t.env.set_feed(a(VOLFEED), 350_000_000, T0 - 7_200);
    assert_eq!(t.e.implied_vol(0).unwrap(), (8 * W / 10, 3));
    assert!(t.e.health(alice()).is_ok());
    // Unreadable vol feed: a perp-only account is unaffected.
    t.env.set_feed(a(VOLFEED), -1, T0);
    t.deposit(BOB, 0, usdc(5_000));
    t.trade(bob(), 0, W, 3_000 * W).unwrap();
    assert!(t.e.health(bob()).is_ok());
}

/// Two colluding accounts open 1 ETH long/short at 3,000 and try to close at
/// 1 wei: the band around the engine's mark refuses the price. Inside the band
/// value can move only as far as the paying account can afford: a close that
/// would leave it below zero (here through the fee) is refused.
#[test]
fn off_market_close_between_colluding_accounts_is_refused() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(2_000));
    t.deposit(BOB, 0, usdc(2_000));
    t.trade(alice(), 0, W, 3_000 * W).unwrap();
    t.trade(bob(), 0, -W, 3_000 * W).unwrap();
    let (mark, spot, low, high) = t.e.price_band(0).unwrap();
    assert_eq!((mark, spot), (3_000 * W, 3_000 * W));
    // Before any poke the band is the scan range (50%).
    assert_eq!((low, high), (1_500 * W, 4_500 * W));
    err!(t, t.trade(alice(), 0, -W, 1), EngineError::ParameterOutOfBounds(e) if e.field == 19);
    t.set_price(p8(2_000));
    t.env.vm.set_sender(a(MARKET));
    err!(
        t,
        t.e.report_trade(alice(), 0, -W, 1_000 * W, 10 * W),
        EngineError::InsufficientMargin(_)
    );
    t.trade(alice(), 0, -W, 2_000 * W).unwrap();
    assert_eq!(t.e.cash_balance(alice()), 1_000 * W);
}

/// A reduction below IM must not lower health: selling at a far-off price
/// is refused, selling at mark is allowed.
#[test]
fn distressed_account_may_reduce_only_without_losing_health() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(4_000));
    t.trade(alice(), 0, 2 * W, 3_000 * W).unwrap();
    t.set_price(p8(1_800));
    let f = t.e.margin_figures(alice(), 255).unwrap();
    assert!(f.equity_im < f.im && f.health > 0, "{f:?}");
    err!(
        t,
        t.trade(alice(), 0, -W, 900 * W),
        EngineError::InsufficientMargin(_)
    );
    t.trade(alice(), 0, -W, 1_800 * W).unwrap();
    let g = t.e.margin_figures(alice(), 255).unwrap();
    assert!(g.health >= f.health && g.equity_mm >= 0);
}

/// One step takes at most the close factor and never takes an account with
/// equity at mark >= 0 below zero; a liquidator of the same owner is refused.
#[test]
fn liquidation_steps_are_bounded_and_keep_solvent_accounts_solvent() {
    let mut t = T::new();
    t.deposit(ALICE, 0, usdc(4_000));
    t.deposit(BOB, 0, usdc(100_000));
    t.trade(alice(), 0, 2 * W, 3_000 * W).unwrap();
    t.set_price(p8(1_500));
    let f = t.e.margin_figures(alice(), 255).unwrap();
    assert!(f.equity >= 0 && f.health < 0, "{f:?}");
    t.as_(CAROL);
    t.e.flag(alice()).unwrap();
    t.at(T0 + 3_600); // the discount at its cap
    t.as_(ALICE);
    err!(
        t,
        t.e.liquidate(alice(), account_id(a(ALICE), 1), 0, W),
        EngineError::UnauthorizedAccount(_)
    );
    t.as_(BOB);
    err!(t, t.e.liquidate(alice(), bob(), 0, 2 * W),
        EngineError::LiquidationStepTooLarge(e) if e.max == alloy_primitives::I256::try_from(W).unwrap());
    t.e.liquidate(alice(), bob(), 0, W).unwrap();
    let g = t.e.margin_figures(alice(), 255).unwrap();
    assert!(g.equity >= 0, "{g:?}");
}

/// A loss beyond all positive cash charges every positive balance in full,
/// starts a new loss-index epoch (the index never stays at 0), records the
/// rest as deficit, and insurance funding repays the deficit first.
#[test]
fn loss_index_never_reaches_zero_and_the_rest_is_deficit() {
    let mut t = underwater();
    t.set_price(p8(500));
    t.as_(BOB);
    t.e.flag(alice()).unwrap();
    t.e.liquidate(alice(), bob(), 0, W / 2).unwrap();
    t.e.liquidate(alice(), bob(), 0, W / 2).unwrap();
    // Bob hands the position on to Carol at mark and takes his cash out, so
    // that little positive cash is left to charge.
    t.deposit(CAROL, 0, usdc(300));
    t.trade(account_id(a(CAROL), 0), 0, W, 500 * W).unwrap();
    t.trade(bob(), 0, -W, 500 * W).unwrap();
    let bob_cash = t.e.cash_balance(bob());
    t.env.vm.set_sender(a(BOB));
    let out = (bob_cash - 10 * W) / 1_000_000_000_000;
    t.e.withdraw(bob(), 0, U256::from(out as u128)).unwrap();
    let debt = -t.e.cash_balance(alice());
    assert!(debt > 400 * W, "{debt}");
    t.e.settle_bad_debt(alice()).unwrap();
    // Every positive balance was charged in full: the epoch ended and the
    // index starts again at 1 instead of staying at 0.
    assert_eq!(t.e.loss_index(), W);
    assert_eq!(t.e.cash_balance(account_id(a(CAROL), 0)), 0);
    assert_eq!(t.e.cash_balance(bob()), 0);
    let deficit = t.e.protocol_deficit();
    assert!(deficit > 0 && deficit <= debt, "{deficit}");
    assert!(t.has_log(events::DeficitChanged::SIGNATURE_HASH));
    t.as_(CAROL);
    t.e.fund_insurance(usdc(1)).unwrap();
    assert_eq!(t.e.protocol_deficit(), deficit - W);
    assert_eq!(t.e.insurance_fund(), 0);
}

/// Cash beyond the amount bound would freeze the account's margin (the
/// calculator refuses it): the deposit that would take it there is refused.
#[test]
fn cash_beyond_the_amount_bound_is_refused() {
    let mut t = T::new();
    let half = U256::from(6u128 * 10u128.pow(20)); // 6e32 WAD of cash
    t.env.mint(a(USDC), a(ALICE), half * U256::from(2u8));
    t.deposit(ALICE, 0, half);
    t.as_(ALICE);
    err!(
        t,
        t.e.deposit(alice(), 0, half),
        EngineError::InvalidAmount(_)
    );
    assert!(t.e.health(alice()).is_ok());
}
