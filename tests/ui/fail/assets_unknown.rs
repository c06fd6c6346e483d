use rocket_dag::prelude::*;
use rocket_dag::{Asset, AssetKind};

const LAUNCHES: Asset = Asset::new("launches_json", AssetKind::File);

// A misspelt asset: rustc's own error, at the name, suggesting the constant.
#[task(reads = [LAUNCHS], writes = [LAUNCHES])]
async fn store() {}

#[dag]
fn assets() {
    store();
}

fn main() {
    let _ = assets();
}
