//! Tasks in another module, named by path, and `pub` tasks.
use rocket_dag::prelude::*;

mod tasks {
    use rocket_dag::prelude::*;

    /// Fetch a page.
    #[task]
    pub async fn fetch() -> Result<String, TaskError> {
        Ok("page".to_owned())
    }

    pub mod nested {
        use rocket_dag::prelude::*;

        #[task]
        pub(crate) async fn measure(page: String) -> Result<usize, TaskError> {
            Ok(page.len())
        }
    }
}

#[task]
pub async fn report(ctx: &TaskContext, n: usize) -> Result<(), TaskError> {
    println!("{}: {n}", ctx.ds());
    Ok(())
}

#[dag]
pub fn by_path() {
    let page = tasks::fetch();
    let n = tasks::nested::measure(page);
    report(n);
}

#[dag]
fn nested_calls() {
    report(crate::tasks::nested::measure(tasks::fetch()));
}

fn main() {
    assert_eq!(by_path().topological_ids(), ["fetch", "measure", "report"]);
    assert_eq!(
        nested_calls().topological_ids(),
        ["fetch", "measure", "report"]
    );
}
