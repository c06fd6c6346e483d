use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(schedul = "@daily")]
fn typo() {
    fetch();
}

fn main() {
    let _ = typo();
}
