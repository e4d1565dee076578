//! The shared vectors (contracts/risk/vectors/portfolios.json and
//! black76.json) through the calculator's full calldata path (encode ->
//! dispatch -> decode), natively. The Foundry test test/risk/RiskCalc.t.sol
//! checks the same vectors against the deployed WASM.

use keel_risk::*;
use keel_risk_calc::codec::{
    decode_inputs, decode_mark_price, encode_account_greeks, encode_account_margin,
    encode_mark_price, encode_scenario_pnl, encode_words, GreeksOutput, Inputs, MarginOutput,
};
use keel_risk_calc::dispatch;
use serde_json::Value;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../risk/vectors/portfolios.json"
);
const BLACK76: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../risk/vectors/black76.json");

fn w(v: &Value) -> Wad {
    v.as_str()
        .expect("WAD string")
        .parse()
        .expect("WAD integer")
}

fn ws(v: &Value) -> Vec<Wad> {
    v.as_array().unwrap().iter().map(w).collect()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

fn inputs(c: &Value) -> Inputs {
    let list = |k: &str| c[k].as_array().unwrap().clone();
    let p = &c["params"];
    Inputs {
        portfolio: Portfolio {
            collaterals: list("collaterals")
                .iter()
                .map(|x| Collateral {
                    amount: w(&x["amount"]),
                    price: w(&x["price"]),
                    im_haircut: w(&x["im_haircut"]),
                    mm_haircut: w(&x["mm_haircut"]),
                })
                .collect(),
            cash: w(&c["cash"]),
            positions: list("positions")
                .iter()
                .map(|x| Position {
                    underlying: u(&x["underlying"]) as u32,
                    instrument: match x["kind"].as_str().unwrap() {
                        "perp" => Instrument::Perp,
                        k => Instrument::Option {
                            kind: if k == "call" {
                                OptionKind::Call
                            } else {
                                OptionKind::Put
                            },
                            strike: w(&x["strike"]),
                            expiry: u(&x["expiry"]),
                        },
                    },
                    size: w(&x["size"]),
                    entry_price: w(&x["entry_price"]),
                })
                .collect(),
        },
        market: MarketData {
            now: u(&c["now"]),
            underlyings: list("underlyings")
                .iter()
                .map(|x| UnderlyingMarket {
                    spot: w(&x["spot"]),
                    smile: Smile {
                        atm_vol: w(&x["atm_vol"]),
                        skew: w(&x["skew"]),
                        curvature: w(&x["curvature"]),
                        min_vol: w(&x["min_vol"]),
                        max_vol: w(&x["max_vol"]),
                    },
                    scan_range: w(&x["scan_range"]),
                    oracle_confidence: w(&x["oracle_confidence"]),
                })
                .collect(),
            history: ws(&c["history"]),
        },
        params: RiskParams {
            grid_k: u(&p["grid_k"]) as u32,
            vol_down: w(&p["vol_down"]),
            vol_up: w(&p["vol_up"]),
            vol_up_power: w(&p["vol_up_power"]),
            extreme_moves: ws(&p["extreme_moves"]),
            extreme_cover: w(&p["extreme_cover"]),
            time_roll_seconds: u(&p["time_roll_seconds"]),
            mm_mode: if p["mm_mode"] == "reduced_grid" {
                MaintenanceMode::ReducedGrid
            } else {
                MaintenanceMode::FractionOfIm
            },
            mm_fraction: w(&p["mm_fraction"]),
            correlation: ws(&p["correlation"]),
            max_offset_credit: w(&p["max_offset_credit"]),
            short_option_min: w(&p["short_option_min"]),
            concentration_tiers: ws(&p["concentration_threshold"])
                .into_iter()
                .zip(ws(&p["concentration_multiplier"]))
                .map(|(threshold, multiplier)| ConcentrationTier {
                    threshold,
                    multiplier,
                })
                .collect(),
            es_enabled: p["es_enabled"].as_bool().unwrap(),
            es_confidence: w(&p["es_confidence"]),
            es_min_samples: u(&p["es_min_samples"]) as u32,
            es_multiplier: w(&p["es_multiplier"]),
        },
    }
}

#[test]
fn dispatch_reproduces_portfolio_vectors_bit_for_bit() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let cases = doc["portfolios"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let i = inputs(c);
        let call = encode_account_margin(&i);
        assert_eq!(decode_inputs(&call[4..], 0).as_ref(), Ok(&i), "{name}");
        let out = MarginOutput::decode(&dispatch(&call).unwrap()).unwrap();
        let e = &c["expected"];
        let got = [out.equity_im, out.equity_mm, out.im, out.mm, out.health];
        let want = ["equity_im", "equity_mm", "im", "mm", "health"].map(|k| w(&e[k]));
        assert_eq!(got, want, "{name}");

        let r = account_margin(&i.portfolio, &i.market, &i.params).unwrap();
        assert_eq!(out, MarginOutput::from_report(&r), "{name}");
        for (k, rep) in r.underlyings.iter().enumerate() {
            let call = encode_scenario_pnl(k as u64, &i);
            assert_eq!(dispatch(&call), Ok(encode_words(&rep.pnl)), "{name} u{k}");
        }
        let greeks = GreeksOutput::decode(&dispatch(&encode_account_greeks(&i)).unwrap());
        assert_eq!(greeks, Some(GreeksOutput::from_report(&r)), "{name}");
    }
}

/// markPrice with a flat smile at the vector's vol is keel-risk's Black-76
/// price at t = years_from_seconds(expiry_seconds): the vector's `price`,
/// exactly, for a long and a short holder alike (every vector lies inside
/// Black-76's domain, where the bounded valuation is Black-76 itself).
#[test]
fn mark_price_reproduces_black76_vectors_bit_for_bit() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(BLACK76).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 80);
    let now = 1_700_000_000;
    for v in vectors {
        let market = UnderlyingMarket {
            spot: w(&v["forward_wad"]),
            scan_range: 0,
            oracle_confidence: 0,
            smile: Smile::flat(w(&v["vol_wad"])),
        };
        let kind = if v["kind"] == "call" { 1 } else { 2 };
        // Inside the domain the holder's side does not matter: one price.
        for size in [WAD, -WAD] {
            let call = encode_mark_price(
                now,
                &market,
                kind,
                w(&v["strike_wad"]),
                now + u(&v["expiry_seconds"]),
                size,
            );
            let price = decode_mark_price(&dispatch(&call).unwrap());
            assert_eq!(price, Some(w(&v["price"])), "{} size {size}", v["note"]);
        }
    }
}
