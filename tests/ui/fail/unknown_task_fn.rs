use rocket_dag::prelude::*;

#[task]
async fn download_launches() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task]
async fn get_pictures(launches: String) -> Result<usize, TaskError> {
    Ok(launches.len())
}

#[dag]
fn launches() {
    let launches = dowload_launches();
    get_pictures(launches);
}

fn main() {
    let _ = launches();
}
