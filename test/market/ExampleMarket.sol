// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IKeelEngine} from "../../contracts/solidity/IKeelEngine.sol";

/// @notice The ERC-20 calls the market needs to pay out its fees.
interface IERC20Minimal {
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @title ExampleMarket
/// @notice A deliberately small order book for Keel perps and options: a maker
/// posts a firm order from their own address (`post`), a taker fills it in full
/// (`fill`). The market never holds margin: it reports both sides of each fill
/// to the Keel engine with `reportTrade` (opposite signs, same price) and the
/// engine books positions, premium and fees, and checks each side: the price
/// must lie in the band around the engine's own mark (`priceBand`), a
/// remaining position must be worth at least the instrument's minimum
/// notional, and after the trade the account must hold initial margin (or,
/// if it was already below it, be no less healthy and not below zero). So a
/// maker may post any price, but only fills the engine accepts go through:
/// two colluding accounts cannot move value between them at an off-market
/// price. Fees are
/// credited by the engine to the market's own account `accountId(market, 0)`;
/// the owner can withdraw them with `collectFees`.
/// @dev The market must be authorised with `setMarket(market, true)` by the
/// engine owner. Engine failures are typed custom errors (`Keel...`); this
/// contract bubbles their revert data unchanged so integrators and users see
/// exactly what the engine said (e.g. `KeelInsufficientMargin(account, equity,
/// requirement)` for the side that lacks margin).
contract ExampleMarket {
    /// @notice One resting order.
    /// @param maker The address that posted it (its account is `accountId(maker, 0)`).
    /// @param instrument Engine instrument id.
    /// @param size Signed size the maker trades (WAD): positive = maker buys.
    /// @param price Trade price (WAD): perp price, or option premium per contract.
    /// @param active False once filled or cancelled.
    struct Order {
        address maker;
        uint32 instrument;
        int128 size;
        int128 price;
        bool active;
    }

    /// @notice The Keel engine trades are reported to.
    IKeelEngine public immutable engine;
    /// @notice May collect the fees the market earned (`collectFees`).
    address public immutable owner;
    /// @notice Maker fee in basis points of |size| x price.
    uint16 public immutable makerFeeBps;
    /// @notice Taker fee in basis points of |size| x price.
    uint16 public immutable takerFeeBps;
    /// @notice Orders by id (ids start at 1).
    mapping(uint256 => Order) public orders;
    /// @notice Number of orders posted so far (= id of the last one).
    uint256 public orderCount;

    /// @notice A maker posted order `id`.
    event OrderPosted(uint256 indexed id, address indexed maker, uint32 indexed instrument, int128 size, int128 price);
    /// @notice Order `id` was filled by `takerAccount`; fees are WAD cash.
    event OrderFilled(uint256 indexed id, uint256 indexed takerAccount, int128 makerFee, int128 takerFee);
    /// @notice Order `id` was cancelled by its maker.
    event OrderCancelled(uint256 indexed id);

    /// @notice The order does not exist or was already filled or cancelled.
    error OrderNotActive(uint256 id);
    /// @notice Size is zero or price is not positive.
    error InvalidOrder();
    /// @notice `caller` does not own `account` (the top 160 bits of the id).
    error NotAccountOwner(address caller, uint256 account);
    /// @notice Only the maker may cancel; only the owner may collect fees.
    error Unauthorized(address caller);
    /// @notice A taker may not fill their own order on the same account.
    error SelfTrade(uint256 account);
    /// @notice A fee above 10% was configured.
    error FeeTooHigh(uint16 bps);

    /// @param engine_ The Keel engine.
    /// @param owner_ May collect the market's fees.
    /// @param makerFeeBps_ Maker fee, basis points (<= 1000).
    /// @param takerFeeBps_ Taker fee, basis points (<= 1000).
    constructor(IKeelEngine engine_, address owner_, uint16 makerFeeBps_, uint16 takerFeeBps_) {
        if (makerFeeBps_ > 1000) revert FeeTooHigh(makerFeeBps_);
        if (takerFeeBps_ > 1000) revert FeeTooHigh(takerFeeBps_);
        engine = engine_;
        owner = owner_;
        makerFeeBps = makerFeeBps_;
        takerFeeBps = takerFeeBps_;
    }

    /// @notice The engine account id of `who`'s sub-account `sub` (`who << 96 | sub`),
    /// computed locally (the engine's `accountId` is pure).
    function accountOf(address who, uint64 sub) public pure returns (uint256) {
        return (uint256(uint160(who)) << 96) | sub;
    }

    /// @notice The market's own engine account, which receives the fees.
    function feeAccount() public view returns (uint256) {
        return accountOf(address(this), 0);
    }

    /// @notice Fee (WAD cash) on a trade of `size` at `price` at `bps` basis points,
    /// rounded up.
    function feeOf(int128 size, int128 price, uint16 bps) public pure returns (int128) {
        uint256 notional = uint256(uint128(size < 0 ? -size : size)) * uint256(uint128(price)) / 1e18;
        return int128(uint128((notional * bps + 9_999) / 10_000));
    }

    /// @notice Posts a firm order for the caller's account `accountOf(msg.sender, 0)`.
    /// Neither margin nor price is checked here: the engine checks both when
    /// the order fills (against its mark and band at that time).
    /// @param instrument Engine instrument id.
    /// @param size Signed size (WAD), positive = the maker buys.
    /// @param price Price (WAD, > 0).
    /// @return id The order id.
    function post(uint32 instrument, int128 size, int128 price) external returns (uint256 id) {
        if (size == 0 || price <= 0) revert InvalidOrder();
        id = ++orderCount;
        orders[id] = Order(msg.sender, instrument, size, price, true);
        emit OrderPosted(id, msg.sender, instrument, size, price);
    }

    /// @notice Cancels an active order (its maker only).
    function cancel(uint256 id) external {
        Order storage o = orders[id];
        if (!o.active) revert OrderNotActive(id);
        if (o.maker != msg.sender) revert Unauthorized(msg.sender);
        o.active = false;
        emit OrderCancelled(id);
    }

    /// @notice Fills order `id` in full against `takerAccount` (owned by the caller):
    /// reports `+size` for the maker and `-size` for the taker at the order's price,
    /// each with its fee. The engine checks the price band, the minimum notional
    /// and each side's margin after its trade; any engine error (e.g.
    /// `KeelParameterOutOfBounds(19, price, low, high)` for a price outside the
    /// band) reverts the whole fill with the engine's revert data, and the
    /// order stays active.
    /// @return makerCash The maker's cash change (realised PnL or premium) reported by the engine.
    /// @return takerCash The taker's cash change.
    function fill(uint256 id, uint256 takerAccount) external returns (int128 makerCash, int128 takerCash) {
        Order memory o = orders[id];
        if (!o.active) revert OrderNotActive(id);
        if (address(uint160(takerAccount >> 96)) != msg.sender) revert NotAccountOwner(msg.sender, takerAccount);
        uint256 makerAccount = accountOf(o.maker, 0);
        if (makerAccount == takerAccount) revert SelfTrade(takerAccount);
        orders[id].active = false;
        int128 makerFee = feeOf(o.size, o.price, makerFeeBps);
        int128 takerFee = feeOf(o.size, o.price, takerFeeBps);
        makerCash = _report(makerAccount, o.instrument, o.size, o.price, makerFee);
        takerCash = _report(takerAccount, o.instrument, -o.size, o.price, takerFee);
        emit OrderFilled(id, takerAccount, makerFee, takerFee);
    }

    /// @notice Withdraws `amount` (settlement-token units) of the collected fees
    /// from the market's engine account to `to` (owner only).
    function collectFees(address to, uint256 amount) external {
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        engine.withdraw(feeAccount(), 0, amount);
        (address token,,,,,,) = engine.collateral(0);
        require(IERC20Minimal(token).transfer(to, amount), "transfer");
    }

    /// @dev Reports one side; on failure re-raises the engine's revert data verbatim.
    function _report(uint256 account, uint32 instrument, int128 size, int128 price, int128 fee)
        private
        returns (int128 cash)
    {
        try engine.reportTrade(account, instrument, size, price, fee) returns (int128 c) {
            return c;
        } catch (bytes memory reason) {
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }
}
