use sqlparser::dialect::DatabricksDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;
fn main() {
    let sql = std::env::args().nth(1).unwrap();
    let d = DatabricksDialect {};
    let toks = Tokenizer::new(&d, &sql).tokenize().unwrap();
    println!("{:?}", toks);
    println!(
        "{:?}",
        Parser::parse_sql(&d, &sql).map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>())
    );
}
