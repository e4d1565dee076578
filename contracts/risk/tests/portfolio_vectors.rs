//! Bit-exact account-margin vectors (vectors/portfolios.json), shared with the
//! Foundry differential tests. Run with KEEL_UPDATE_VECTORS=1 to rewrite the
//! `expected` blocks after an intentional change of the numerics.

use keel_risk::*;
use serde_json::{json, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/portfolios.json");

fn w(v: &Value) -> Wad {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a WAD integer string, got {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad WAD integer {v}: {e}"))
}

fn ws(v: &Value) -> Vec<Wad> {
    v.as_array().unwrap().iter().map(w).collect()
}

fn inputs(c: &Value) -> (Portfolio, MarketData, RiskParams) {
    let underlyings = c["underlyings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| UnderlyingMarket {
            spot: w(&u["spot"]),
            smile: Smile {
                atm_vol: w(&u["atm_vol"]),
                skew: w(&u["skew"]),
                curvature: w(&u["curvature"]),
                min_vol: w(&u["min_vol"]),
                max_vol: w(&u["max_vol"]),
            },
            scan_range: w(&u["scan_range"]),
            oracle_confidence: w(&u["oracle_confidence"]),
        })
        .collect();
    let collaterals = c["collaterals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| Collateral {
            amount: w(&x["amount"]),
            price: w(&x["price"]),
            im_haircut: w(&x["im_haircut"]),
            mm_haircut: w(&x["mm_haircut"]),
        })
        .collect();
    let positions = c["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let instrument = match x["kind"].as_str().unwrap() {
                "perp" => Instrument::Perp,
                k => Instrument::Option {
                    kind: if k == "call" {
                        OptionKind::Call
                    } else {
                        OptionKind::Put
                    },
                    strike: w(&x["strike"]),
                    expiry: x["expiry"].as_u64().unwrap(),
                },
            };
            Position {
                underlying: x["underlying"].as_u64().unwrap() as u32,
                instrument,
                size: w(&x["size"]),
                entry_price: w(&x["entry_price"]),
            }
        })
        .collect();
    let p = &c["params"];
    let tiers = ws(&p["concentration_threshold"])
        .into_iter()
        .zip(ws(&p["concentration_multiplier"]))
        .map(|(threshold, multiplier)| ConcentrationTier {
            threshold,
            multiplier,
        })
        .collect();
    let params = RiskParams {
        grid_k: p["grid_k"].as_u64().unwrap() as u32,
        vol_down: w(&p["vol_down"]),
        vol_up: w(&p["vol_up"]),
        vol_up_power: w(&p["vol_up_power"]),
        extreme_moves: ws(&p["extreme_moves"]),
        extreme_cover: w(&p["extreme_cover"]),
        time_roll_seconds: p["time_roll_seconds"].as_u64().unwrap(),
        mm_mode: match p["mm_mode"].as_str().unwrap() {
            "fraction_of_im" => MaintenanceMode::FractionOfIm,
            _ => MaintenanceMode::ReducedGrid,
        },
        mm_fraction: w(&p["mm_fraction"]),
        correlation: ws(&p["correlation"]),
        max_offset_credit: w(&p["max_offset_credit"]),
        short_option_min: w(&p["short_option_min"]),
        concentration_tiers: tiers,
        es_enabled: p["es_enabled"].as_bool().unwrap(),
        es_confidence: w(&p["es_confidence"]),
        es_min_samples: p["es_min_samples"].as_u64().unwrap() as u32,
        es_multiplier: w(&p["es_multiplier"]),
    };
    (
        Portfolio {
            collaterals,
            cash: w(&c["cash"]),
            positions,
        },
        MarketData {
            now: c["now"].as_u64().unwrap(),
            underlyings,
            history: ws(&c["history"]),
        },
        params,
    )
}

fn expected(r: &MarginReport) -> Value {
    json!({
        "equity_im": r.equity_im.to_string(),
        "equity_mm": r.equity_mm.to_string(),
        "im": r.im.to_string(),
        "mm": r.mm.to_string(),
        "health": r.health.to_string(),
    })
}

#[test]
fn portfolio_vectors_are_bit_exact() {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let update = std::env::var("KEEL_UPDATE_VECTORS").is_ok_and(|v| v == "1");
    let cases = doc["portfolios"].as_array_mut().unwrap();
    assert!(cases.len() >= 5);
    let mut mismatches = Vec::new();
    for c in cases.iter_mut() {
        let (p, m, params) = inputs(c);
        let name = c["name"].as_str().unwrap().to_string();
        let r = account_margin(&p, &m, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = expected(&r);
        if update {
            c["expected"] = got;
        } else if c["expected"] != got {
            mismatches.push(format!("{name}: expected {} got {got}", c["expected"]));
        }
    }
    if update {
        std::fs::write(PATH, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn portfolio_vectors_cover_the_interesting_cases() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let mut healths = Vec::new();
    let mut es = false;
    let mut reduced = false;
    for c in doc["portfolios"].as_array().unwrap() {
        let (p, m, params) = inputs(c);
        let r = account_margin(&p, &m, &params).unwrap();
        healths.push(r.health);
        es |= r.es > r.scan_aggregated;
        reduced |= params.mm_mode == MaintenanceMode::ReducedGrid;
        assert!(r.im >= r.mm && r.mm > 0, "{}", c["name"]);
    }
    assert!(
        healths.iter().any(|h| *h < 0),
        "one vector must be liquidatable"
    );
    assert!(healths.iter().any(|h| *h > 0));
    assert!(es, "one vector must be ES-bound");
    assert!(reduced);
}
