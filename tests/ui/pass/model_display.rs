// `model!` expands to the variant of the default catalog, which displays as
// its manifest name.
fn main() {
    let model = llmax::model!("gpt-4o");
    assert_eq!(model, llmax::Model::Gpt4o);
    assert_eq!(model.to_string(), "gpt-4o");
}
