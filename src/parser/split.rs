//! Splitting scripts into statements on `;` outside quotes and comments, with
//! sqlparser's tokenizer (so quoting rules match the parser's).

use super::dialect::SparkDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use super::offset_of;

/// Split a script into statement texts (without the `;`), skipping empty ones.
/// A script that does not tokenize (e.g. an unterminated quote) is returned whole,
/// so the parser reports the error with its position.
pub fn split_statements(script: &str) -> Vec<String> {
    let dialect = SparkDialect;
    let tokens = match Tokenizer::new(&dialect, script)
        .with_unescape(false)
        .tokenize_with_location()
    {
        Ok(t) => t,
        Err(_) => {
            return if script.trim().is_empty() {
                vec![]
            } else {
                vec![script.trim().to_string()]
            }
        }
    };
    let mut out = vec![];
    let mut start = 0;
    let mut has_content = false;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                let end = offset_of(script, t.span.start.line, t.span.start.column);
                if has_content {
                    out.push(script[start..end].trim().to_string());
                }
                start = end + 1;
                has_content = false;
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => has_content = true,
        }
    }
    if has_content {
        out.push(script[start..].trim().to_string());
    }
    out
}

/// Whether REPL input is a complete statement: its last token other than whitespace
/// and comments is `;` (quotes and comments are respected).
pub fn is_complete(text: &str) -> bool {
    let dialect = SparkDialect;
    let Ok(tokens) = Tokenizer::new(&dialect, text)
        .with_unescape(false)
        .tokenize()
    else {
        return false;
    };
    for t in tokens.iter().rev() {
        match t {
            Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => {
                continue
            }
            Token::Whitespace(_) => continue,
            Token::SemiColon => return true,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn splits_outside_quotes_and_comments() {
        let s = "SELECT 'a;b'; -- c;d\nSELECT 2 /* ; */;\n\n;SELECT 3";
        assert_eq!(
            split_statements(s),
            vec!["SELECT 'a;b'", "-- c;d\nSELECT 2 /* ; */", "SELECT 3"]
        );
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 1"));
    }
}
