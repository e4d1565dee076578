//! Prints the engine's Solidity interface (`--features export-abi`).
fn main() {
    keel_engine::print_from_args();
}
