use rocket_dag::prelude::*;

#[task]
async fn download_launches() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn get_pictures() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn launches() {
    let launches = download_launches();
    let pictures = get_pictures();
    launches >> picturs;
}

fn main() {
    let _ = launches();
}
