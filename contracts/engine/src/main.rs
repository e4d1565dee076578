//! Prints the engine's Solidity interface (`--features export-abi`).
fn main() {
    print!("{}", keel_engine::solidity_interface());
}
