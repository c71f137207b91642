// A typo in a model name is a compile error that suggests the right name.
fn main() {
    let _model = llmax::model!("gpt-4oo");
}
