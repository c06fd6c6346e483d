use rocket_dag::prelude::*;

#[task]
async fn one_url() -> String {
    "https://example.com/a.png".into()
}

#[task]
async fn fetch(url: String) -> usize {
    url.len()
}

#[dag]
fn not_a_list() {
    let u = one_url();
    fetch.expand(u);
}

fn main() {
    let _ = not_a_list();
}
