// A name close to none: the error says where the models are listed.
fn main() {
    let _model = llmax::model!("definitely-not-a-model");
}
