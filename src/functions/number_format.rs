//! Spark's number format strings, as `to_number(str, fmt)` and `try_to_number` read
//! them and `to_char(number, fmt)` writes them (Spark's `ToNumberParser`): `0`/`9`
//! digits, `.`/`D` the decimal point, `,`/`G` a grouping separator, `$` a dollar sign,
//! `S` a sign and `MI` a minus at the start or end, `PR` angle brackets around a
//! negative number.
//!
//! The binder parses the (constant) format once to get the result type,
//! `DECIMAL(digits, digits after the point)`; evaluation turns each input into a plain
//! decimal string (`-12454.8`) that is then cast to that type.

use crate::error::{QuarryError, Result};

/// A token of a number format.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Token {
    /// A run of `0`/`9` digits: its length and whether it starts with `0`.
    Digits {
        len: usize,
        zero: bool,
    },
    Point,
    Group,
    Dollar,
    /// `S`: an optional `+` or `-`.
    Sign,
    /// `MI`: an optional trailing `-`.
    Minus,
    /// `PR`: `<...>` around a negative number.
    Brackets,
}

/// A parsed number format (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct NumberFormat {
    format: String,
    /// Tokens before the number (`$`, `S`).
    prefix: Vec<Token>,
    /// Digit runs of the integer part, left to right (separated by grouping separators).
    int_groups: Vec<(usize, bool)>,
    /// Digits after the decimal point (`None`: the format has no decimal point).
    frac: Option<usize>,
    /// Tokens after the number (`$`, `S`, `MI`, `PR`).
    suffix: Vec<Token>,
}

fn invalid(format: &str, why: &str) -> QuarryError {
    QuarryError::Analysis(format!(
        "[INVALID_FORMAT] The format is invalid: '{format}'. {why}"
    ))
}

impl NumberFormat {
    /// Parse `format`; an error names what is wrong with it (Spark's `INVALID_FORMAT`).
    pub fn parse(format: &str) -> Result<NumberFormat> {
        if format.is_empty() {
            return Err(invalid(format, "The format string cannot be empty."));
        }
        let upper = format.to_ascii_uppercase();
        let chars: Vec<char> = upper.chars().collect();
        let mut tokens = vec![];
        let mut i = 0;
        while i < chars.len() {
            let t = match chars[i] {
                '0' | '9' => {
                    let start = i;
                    while i + 1 < chars.len() && matches!(chars[i + 1], '0' | '9') {
                        i += 1;
                    }
                    Token::Digits {
                        len: i - start + 1,
                        zero: chars[start] == '0',
                    }
                }
                '.' | 'D' => Token::Point,
                ',' | 'G' => Token::Group,
                '$' => Token::Dollar,
                'S' => Token::Sign,
                'M' if chars.get(i + 1) == Some(&'I') => {
                    i += 1;
                    Token::Minus
                }
                'P' if chars.get(i + 1) == Some(&'R') => {
                    i += 1;
                    Token::Brackets
                }
                c => {
                    return Err(invalid(
                        format,
                        &format!("Unexpected character '{c}' found in the format string; the structure of the format string must match: [MI|S] [$] [0|9|G|,]* [.|D] [0|9]* [$] [PR|MI|S]."),
                    ))
                }
            };
            tokens.push(t);
            i += 1;
        }
        let first_number = tokens
            .iter()
            .position(|t| matches!(t, Token::Digits { .. } | Token::Point | Token::Group));
        let Some(first_number) = first_number else {
            return Err(invalid(
                format,
                "The format string must contain at least one digit.",
            ));
        };
        let last_number = tokens
            .iter()
            .rposition(|t| matches!(t, Token::Digits { .. } | Token::Point | Token::Group))
            .unwrap_or(first_number);
        let prefix = tokens[..first_number].to_vec();
        let suffix = tokens[last_number + 1..].to_vec();
        let mut int_groups = vec![];
        let mut frac = None;
        let mut after_group = false;
        for t in &tokens[first_number..=last_number] {
            match (*t, frac) {
                (Token::Digits { len, zero }, None) => {
                    int_groups.push((len, zero));
                    after_group = false;
                }
                (Token::Digits { len, .. }, Some(f)) => frac = Some(f + len),
                (Token::Point, None) => {
                    if after_group {
                        return Err(invalid(format, "Thousands separators (, or G) must have digits in between them."));
                    }
                    frac = Some(0)
                }
                (Token::Point, Some(_)) => {
                    return Err(invalid(format, "At most one decimal point (. or D) is allowed."))
                }
                (Token::Group, None) => {
                    if int_groups.is_empty() || after_group {
                        return Err(invalid(format, "Thousands separators (, or G) must have digits in between them."));
                    }
                    after_group = true;
                }
                (Token::Group, Some(_)) => {
                    return Err(invalid(format, "Thousands separators (, or G) may not appear after the decimal point in the number format."))
                }
                _ => {
                    return Err(invalid(format, "Currency and sign characters ($, S, MI, PR) must come before or after the digits."))
                }
            }
        }
        if after_group {
            return Err(invalid(
                format,
                "Thousands separators (, or G) must have digits in between them.",
            ));
        }
        let count = |t: Token| tokens.iter().filter(|x| **x == t).count();
        if count(Token::Dollar) > 1 {
            return Err(invalid(format, "At most one dollar sign ($) is allowed."));
        }
        if count(Token::Sign) + count(Token::Minus) + count(Token::Brackets) > 1 {
            return Err(invalid(
                format,
                "At most one sign (S, MI or PR) is allowed.",
            ));
        }
        if prefix.contains(&Token::Brackets) {
            return Err(invalid(
                format,
                "PR may only be at the end of the format string.",
            ));
        }
        if int_groups.iter().map(|g| g.0).sum::<usize>() + frac.unwrap_or(0) > 38 {
            return Err(invalid(format, "The format has more than 38 digits."));
        }
        Ok(NumberFormat {
            format: format.to_string(),
            prefix,
            int_groups,
            frac,
            suffix,
        })
    }

    /// The format string as written.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// `format` parsed, from `cache` when it holds that format (a column's rows mostly
    /// share one), else parsed into it. Errors: as [`NumberFormat::parse`].
    pub fn cached<'a>(
        cache: &'a mut Option<NumberFormat>,
        format: &str,
    ) -> Result<&'a NumberFormat> {
        if cache.as_ref().is_some_and(|p| p.format == format) {
            if let Some(p) = cache {
                return Ok(p);
            }
        }
        Ok(cache.insert(NumberFormat::parse(format)?))
    }

    /// The result type's precision and scale: the format's digits, and those after the
    /// decimal point.
    pub fn precision_scale(&self) -> (u8, i8) {
        let int: usize = self.int_groups.iter().map(|g| g.0).sum();
        let frac = self.frac.unwrap_or(0);
        ((int + frac).max(1) as u8, frac as i8)
    }

    /// The error for an input that does not match (Spark's message).
    pub fn mismatch(&self, input: &str) -> QuarryError {
        QuarryError::Execution(format!(
            "[INVALID_FORMAT.MISMATCH_INPUT] The input '{input}' does not match the format '{}'; use try_to_number to get NULL instead",
            self.format
        ))
    }

    /// `input` as a plain decimal number (`-12454.8`), or `None` when it does not match
    /// the format.
    pub fn normalize(&self, input: &str) -> Option<String> {
        let mut s = input;
        let mut negative = false;
        if self.suffix.contains(&Token::Brackets) {
            if let Some(inner) = s.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
                s = inner;
                negative = true;
            } else if s.starts_with('<') || s.ends_with('>') {
                return None;
            }
        }
        for t in &self.prefix {
            match t {
                Token::Dollar => s = s.strip_prefix('$')?,
                Token::Sign | Token::Minus => {
                    if let Some(r) = s.strip_prefix('-') {
                        negative = true;
                        s = r;
                    } else if let Some(r) = s.strip_prefix('+').filter(|_| *t == Token::Sign) {
                        s = r;
                    }
                }
                _ => return None,
            }
        }
        for t in self.suffix.iter().rev() {
            match t {
                Token::Dollar => s = s.strip_suffix('$')?,
                Token::Sign | Token::Minus => {
                    if let Some(r) = s.strip_suffix('-') {
                        negative = true;
                        s = r;
                    } else if let Some(r) = s.strip_suffix('+').filter(|_| *t == Token::Sign) {
                        s = r;
                    }
                }
                Token::Brackets => {}
                _ => return None,
            }
        }
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        // the fraction: digits only, no more than the format's
        let frac_digits = match (frac_part, self.frac) {
            (None, _) => "",
            (Some(_), None) => return None,
            (Some(f), Some(max)) => {
                if f.len() > max || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                f
            }
        };
        // the integer part: groups right-aligned with the format's; every group but the
        // input's leftmost has the format group's size, the leftmost at most its size
        // (exactly when the format's run starts with 0)
        let mut int_digits = String::new();
        if !int_part.is_empty() {
            let groups: Vec<&str> = int_part.split(',').collect();
            if groups.len() > self.int_groups.len() {
                return None;
            }
            let offset = self.int_groups.len() - groups.len();
            for (k, g) in groups.iter().enumerate() {
                let (size, zero) = self.int_groups[offset + k];
                if g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let exact = k > 0 || (zero && offset == 0);
                if (exact && g.len() != size) || g.len() > size {
                    return None;
                }
                int_digits.push_str(g);
            }
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(int_digits.len() + frac_digits.len() + 3);
        if negative {
            out.push('-');
        }
        out.push_str(if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        });
        if !frac_digits.is_empty() {
            out.push('.');
            out.push_str(frac_digits);
        }
        Some(out)
    }

    /// `plain` (a decimal number as `-123.450`, no exponent) written in this format, as
    /// Spark's `to_char` (ToNumberParser.format): the integer digits right-aligned in
    /// the format's, with spaces where a `9` has no digit (zeros where the run starts
    /// with `0`) and `#` everywhere when the number has more digits than the format;
    /// the fraction padded with zeros; signs, `$` and `<` placed just before the first
    /// digit.
    pub fn format_plain(&self, plain: &str) -> String {
        let negative = plain.starts_with('-');
        let unsigned = plain.trim_start_matches(['-', '+']);
        let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let int_part = int_part.trim_start_matches('0');
        let frac_part = frac_part.trim_end_matches('0');
        let int_width: usize = self.int_groups.iter().map(|g| g.0).sum();
        let frac_width = self.frac.unwrap_or(0);
        let (int_digits, frac_digits): (Vec<char>, Vec<char>) =
            if int_part.len() > int_width || frac_part.len() > frac_width {
                (vec!['#'; int_width], vec!['#'; frac_width])
            } else {
                let mut i = vec![' '; int_width - int_part.len()];
                i.extend(int_part.chars());
                let mut f: Vec<char> = frac_part.chars().collect();
                f.resize(frac_width, '0');
                (i, f)
            };
        let mut out: Vec<char> = Vec::with_capacity(self.format.len() + 2);
        let sign_token = |out: &mut Vec<char>, t: Token| match t {
            Token::Dollar => out.push('$'),
            Token::Sign => {
                strip_lone_point(out);
                push_before_spaces(out, if negative { '-' } else { '+' });
            }
            Token::Minus if negative => {
                strip_lone_point(out);
                push_before_spaces(out, '-');
            }
            Token::Minus => out.push(' '),
            Token::Brackets if negative => {
                strip_lone_point(out);
                push_before_spaces(out, '>');
            }
            Token::Brackets => out.extend([' ', ' ']),
            _ => {}
        };
        if negative && self.suffix.contains(&Token::Brackets) {
            out.push('<');
        }
        for t in &self.prefix {
            sign_token(&mut out, *t);
        }
        let mut next = int_digits.iter();
        for (k, &(len, zero)) in self.int_groups.iter().enumerate() {
            if k > 0 {
                if out.last().is_some_and(|c| c.is_ascii_digit()) {
                    out.push(',');
                } else {
                    push_space_after_signs(&mut out);
                }
            }
            for _ in 0..len {
                match next.next() {
                    Some(' ') if zero => out.push('0'),
                    Some(' ') | None => push_space_after_signs(&mut out),
                    Some(c) => out.push(*c),
                }
            }
        }
        if self.frac.is_some() {
            if let Some(last) = out.last_mut().filter(|c| **c == ' ') {
                *last = '0';
            }
            out.push('.');
            out.extend(frac_digits);
        }
        for t in &self.suffix {
            sign_token(&mut out, *t);
        }
        strip_lone_point(&mut out);
        let text: String = out.into_iter().collect();
        if text.is_empty() || text == "+" || text == "-" {
            "0".to_string()
        } else {
            text
        }
    }
}

/// A decimal point that ends the text or is followed by a space becomes a space.
fn strip_lone_point(out: &mut [char]) {
    if let Some(i) = out.iter().position(|c| *c == '.') {
        if out.get(i + 1).is_none_or(|c| *c == ' ') {
            out[i] = ' ';
        }
    }
}

/// Append `c`, moved left past the spaces before it (a sign or `>` after digits
/// right-aligned with spaces stays next to them).
fn push_before_spaces(out: &mut Vec<char>, c: char) {
    out.push(c);
    let mut i = out.len() - 1;
    while i >= 1 && out[i - 1] == ' ' && out[i] == c {
        out.swap(i - 1, i);
        i -= 1;
    }
}

/// Append a space, moved left past the signs and `<` before it (so they end up just
/// before the first digit).
fn push_space_after_signs(out: &mut Vec<char>) {
    out.push(' ');
    let mut i = out.len() - 1;
    while i >= 1 && matches!(out[i - 1], '+' | '-' | '<') && out[i] == ' ' {
        out.swap(i - 1, i);
        i -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::NumberFormat;

    fn num(input: &str, format: &str) -> Option<String> {
        NumberFormat::parse(format).unwrap().normalize(input)
    }

    #[test]
    fn spark_examples() {
        assert_eq!(num("454", "000").as_deref(), Some("454"));
        assert_eq!(num("454.2", "000.0").as_deref(), Some("454.2"));
        assert_eq!(num("12,454", "00,000").as_deref(), Some("12454"));
        assert_eq!(num("$78.12", "$00.00").as_deref(), Some("78.12"));
        assert_eq!(num("+454", "S000").as_deref(), Some("454"));
        assert_eq!(num("-454", "S000").as_deref(), Some("-454"));
        assert_eq!(num("12,454.8-", "00,000.9MI").as_deref(), Some("-12454.8"));
        assert_eq!(num("<00,454.8>", "00,000.9PR").as_deref(), Some("-00454.8"));
        assert_eq!(num("454", "9,999").as_deref(), Some("454"));
        assert_eq!(num("1,454", "9,999").as_deref(), Some("1454"));
        assert_eq!(num(".5", "9.99").as_deref(), Some("0.5"));
        assert_eq!(
            NumberFormat::parse("00,000.9MI").unwrap().precision_scale(),
            (6, 1)
        );
    }

    fn fmt(v: &str, format: &str) -> String {
        NumberFormat::parse(format).unwrap().format_plain(v)
    }

    #[test]
    fn to_char_as_spark() {
        // Spark's postgreSQL/int8.sql golden results
        assert_eq!(fmt("123", "9G999G999G999G999G999"), "                  123");
        assert_eq!(
            fmt("4567890123456789", "9,999,999,999,999,999"),
            "4,567,890,123,456,789"
        );
        assert_eq!(fmt("-123", "9999999999999999PR"), "             <123>");
        assert_eq!(
            fmt("4567890123456789", "9999999999999999.999PR"),
            "4567890123456789.000  "
        );
        assert_eq!(fmt("-123", "9999999999999999S"), "             123-");
        assert_eq!(fmt("-456", "S9999999999999999"), "             -456");
        assert_eq!(fmt("123", "MI9999999999999999"), "              123");
        assert_eq!(
            fmt("-4567890123456789", "MI9999999999999999"),
            "-4567890123456789"
        );
        assert_eq!(fmt("123", "0999999999999999"), "0000000000000123");
        assert_eq!(fmt("123", "S0999999999999999"), "+0000000000000123");
        // too many digits: #s; a number without integer digits gets a 0
        assert_eq!(fmt("12345", "999.9"), "###.#");
        assert_eq!(fmt("0.5", "9.99"), "0.50");
        assert_eq!(fmt("454", "$999"), "$454");
        assert_eq!(fmt("-12454.8", "99,999.9S"), "12,454.8-");
    }

    #[test]
    fn mismatches() {
        assert_eq!(num("4540", "000"), None); // too many digits
        assert_eq!(num("45", "000"), None); // a 0 run matches its size only
        assert_eq!(num("1,23", "9,999"), None); // a group of the wrong size
        assert_eq!(num("4.55", "9.9"), None); // too many decimals
        assert_eq!(num("78.12", "$00.00"), None); // the dollar sign is required
        assert_eq!(num("abc", "999"), None);
        assert_eq!(num("", "999"), None);
        for bad in ["", "abc", "9..9", ",99", "99,", "S9S", "PR99", "99,.9"] {
            assert!(NumberFormat::parse(bad).is_err(), "{bad}");
        }
    }
}
