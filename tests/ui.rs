//! Compile-time checks of `#[task]` and `#[dag]`: every rejected program has a reviewed `.stderr`.
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
