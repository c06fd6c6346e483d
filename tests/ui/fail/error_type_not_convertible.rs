use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<u32, String> {
    Err("no network".to_owned())
}

#[dag]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}
