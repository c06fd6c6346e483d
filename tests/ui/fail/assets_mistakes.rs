use rocket_dag::prelude::*;
use rocket_dag::{Asset, AssetKind};

const LAUNCHES: Asset = Asset::new("launches_json", AssetKind::File);
const NOT_AN_ASSET: &str = "images";

// A string where an asset constant goes.
#[task(reads = ["ll2_api"])]
async fn fetch() -> String {
    String::new()
}

// A value of the wrong type.
#[task(reads = [LAUNCHES], writes = [NOT_AN_ASSET])]
async fn store(_launches: String) {}

// Not a list.
#[task(writes = LAUNCHES)]
async fn report() {}

#[dag]
fn assets() {
    store(fetch());
    report();
}

fn main() {
    let _ = assets();
}
