//! Spark's string and binary functions beyond the basic ones in [`super::scalar`]:
//! regular expressions (`regexp_replace`, `rlike`, ...), `repeat`, `translate`,
//! `substring_index`, `levenshtein`, `soundex`, `format_number`, `format_string`,
//! trimming given characters, digests (`md5`, `sha2`, `crc32`), `base64`, `unhex`,
//! `encode`/`decode`/`to_binary`, `url_encode`, `luhn_check`, `uuid`.
//!
//! Regular expressions use the `regex` crate, whose syntax is Java's for everything
//! but look-around and back-references (those give a clear error). Replacement strings
//! follow Java's `Matcher.replaceAll` (`$1`, `\$`).

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use base64::Engine;

use super::scalar::{ints, strings};
use crate::error::{QuarryError, Result};
use crate::types::{is_numeric, type_name};

/// A string or binary function (see the module docs). Names follow Spark SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StringFunc {
    /// `regexp_replace(str, regexp, rep[, position])`.
    RegexpReplace,
    /// `rlike`/`regexp`/`regexp_like(str, regexp)`: a match anywhere.
    RLike,
    RegexpCount,
    RegexpSubstr,
    RegexpInstr,
    Repeat,
    Space,
    Translate,
    /// `mask(str[, upperChar, lowerChar, digitChar, otherChar])` (Spark 3.4's Mask):
    /// upper-case letters become `upperChar` (default `X`), lower-case ones `lowerChar`
    /// (`x`), decimal digits `digitChar` (`n`), other characters `otherChar` (default
    /// NULL: kept); a NULL replacement keeps that class as it is. Each replacement is
    /// one character (else an error naming it). Classes by Unicode general category
    /// (Lu, Ll, Nd), as Java's `Character.getType` that Spark uses.
    Mask,
    SubstringIndex,
    /// `parse_url(url, part[, key])`: a part of a URL as Spark's ParseUrl (java.net.URI's
    /// raw parts); see [`parse_url`].
    ParseUrl,
    /// `raise_error(message)`: fails the query with `[USER_RAISED_EXCEPTION] message`
    /// when it is evaluated over any row (Spark's RaiseError); typed NULL. Not
    /// deterministic, so that it is never folded ahead of the CASE branch it sits in.
    RaiseError,
    FindInSet,
    /// `elt(n, s1, s2, ...)`: the n-th string, NULL out of range.
    Elt,
    Levenshtein,
    Soundex,
    FormatNumber,
    /// `format_string(fmt, ...)`/`printf`: Java's `String.format`.
    FormatString,
    /// `format(fmt, ...)` (DuckDB): `{}` placeholders in the fmt library's syntax.
    Format,
    BitLength,
    OctetLength,
    LuhnCheck,
    /// `like_escape(pattern, escape)`: a LIKE pattern written with `ESCAPE e`, rewritten
    /// to the pattern with `\` escapes that the LIKE kernels read (see [`like_escape`]).
    /// Per row: a NULL escape gives NULL; `''` means no escape character (DuckDB's); an
    /// escape of more than one character is an `INVALID_ESCAPE_CHAR` error.
    LikeEscape,
    /// `btrim(str, chars)` and `TRIM(BOTH chars FROM str)`.
    TrimChars,
    /// `TRIM(LEADING chars FROM str)`.
    LTrimChars,
    /// `TRIM(TRAILING chars FROM str)`.
    RTrimChars,
    /// `overlay(input PLACING replace FROM pos [FOR len])`.
    Overlay,
    Md5,
    Sha1,
    Sha2,
    Crc32,
    /// `xxhash64(a, ...)`: Spark's XxHash64 over the arguments, seed 42, each
    /// argument's hash the seed of the next (NULLs leave it); see [`spark_hash`].
    XxHash64,
    /// `hash(a, ...)`: Spark's Murmur3Hash (x86, 32-bit) over the arguments, seed 42,
    /// chained as `xxhash64`; see `Murmur3`.
    Murmur3,
    Base64,
    Unbase64,
    Unhex,
    /// `encode(str, charset)`: the string's bytes.
    Encode,
    /// `decode(bin, charset)`: the bytes as a string.
    Decode,
    /// `to_binary(str[, 'hex' | 'utf-8' | 'base64'])`.
    ToBinary,
    UrlEncode,
    UrlDecode,
    /// `try_url_decode(s)`: `url_decode`, with NULL for a malformed `%` escape.
    TryUrlDecode,
    Uuid,
    /// `to_number(str, fmt)` (`try`: `try_to_number`), first half: the input as a plain
    /// decimal string, which the binder casts to the format's decimal type (see
    /// [`super::number_format`]); a mismatch is an error, or NULL for `try_to_number`.
    ToNumber {
        r#try: bool,
    },
    /// `to_char(number, fmt)`/`to_varchar` of a number (the binder casts it to a decimal,
    /// as Spark's ToCharacter): the number written in the format (see
    /// [`super::number_format::NumberFormat::format_plain`]).
    ToCharNumber,
    /// `get_json_object(json, path)` (see [`super::json`]).
    GetJsonObject,
    /// `json_tuple(json, k1, ..., kn)`'s row: a struct of the top-level fields `c0` ..
    /// `c(n-1)` as strings (the binder makes the generator `inline` over it).
    JsonTuple,
    JsonArrayLength,
    JsonObjectKeys,
    /// `jaro_similarity(a, b[, cutoff])` (DuckDB's): the Jaro similarity in [0, 1] over
    /// characters; 0 when below `cutoff`.
    JaroSimilarity,
    /// `jaro_winkler_similarity(a, b[, cutoff])` (DuckDB's): Jaro with Winkler's common
    /// prefix boost (scale 0.1, prefix up to 4 characters, applied above 0.7).
    JaroWinklerSimilarity,
    /// `jaccard(a, b)` (DuckDB's): |A ∩ B| / |A ∪ B| over the two strings' character
    /// sets; an empty string is an error.
    Jaccard,
    /// `unicode(s)` (DuckDB's, SQLite's): the code point of the first character, -1 for ''.
    Unicode,
    /// `parse_formatted_bytes('1.5 GiB')` (DuckDB's): a byte count as a bigint; units
    /// B/byte(s), KB MB GB TB PB (powers of 1000) and KiB MiB GiB TiB PiB (of 1024),
    /// any case; see [`parse_formatted_bytes`].
    ParseFormattedBytes,
}

impl StringFunc {
    /// The Spark name.
    pub fn name(&self) -> &'static str {
        use StringFunc::*;
        match self {
            RegexpReplace => "regexp_replace",
            RLike => "rlike",
            RegexpCount => "regexp_count",
            RegexpSubstr => "regexp_substr",
            RegexpInstr => "regexp_instr",
            Repeat => "repeat",
            Space => "space",
            Translate => "translate",
            Mask => "mask",
            SubstringIndex => "substring_index",
            ParseUrl => "parse_url",
            RaiseError => "raise_error",
            FindInSet => "find_in_set",
            Elt => "elt",
            Levenshtein => "levenshtein",
            Soundex => "soundex",
            FormatNumber => "format_number",
            FormatString => "format_string",
            Format => "format",
            BitLength => "bit_length",
            OctetLength => "octet_length",
            LuhnCheck => "luhn_check",
            LikeEscape => "like_escape",
            TrimChars => "btrim",
            LTrimChars => "ltrim",
            RTrimChars => "rtrim",
            Overlay => "overlay",
            Md5 => "md5",
            Sha1 => "sha1",
            Sha2 => "sha2",
            Crc32 => "crc32",
            XxHash64 => "xxhash64",
            Murmur3 => "hash",
            Base64 => "base64",
            Unbase64 => "unbase64",
            Unhex => "unhex",
            Encode => "encode",
            Decode => "decode",
            ToBinary => "to_binary",
            UrlEncode => "url_encode",
            UrlDecode => "url_decode",
            TryUrlDecode => "try_url_decode",
            Uuid => "uuid",
            ToNumber { r#try: false } => "to_number",
            ToNumber { r#try: true } => "try_to_number",
            ToCharNumber => "to_char",
            GetJsonObject => "get_json_object",
            JsonTuple => "json_tuple",
            JsonArrayLength => "json_array_length",
            JsonObjectKeys => "json_object_keys",
            JaroSimilarity => "jaro_similarity",
            JaroWinklerSimilarity => "jaro_winkler_similarity",
            Jaccard => "jaccard",
            Unicode => "unicode",
            ParseFormattedBytes => "parse_formatted_bytes",
        }
    }

    /// Look up a function by (lower-case) name. `trim`/`ltrim`/`rtrim` with two
    /// arguments are resolved by the binder.
    pub fn lookup(name: &str) -> Option<StringFunc> {
        use StringFunc::*;
        Some(match name {
            "regexp_replace" => RegexpReplace,
            "rlike" | "regexp" | "regexp_like" | "regexp_matches" => RLike,
            "regexp_count" => RegexpCount,
            "regexp_substr" => RegexpSubstr,
            "regexp_instr" => RegexpInstr,
            "repeat" => Repeat,
            "space" => Space,
            "translate" => Translate,
            "mask" => Mask,
            "substring_index" => SubstringIndex,
            "parse_url" => ParseUrl,
            // `error` is DuckDB's name
            "raise_error" | "error" => RaiseError,
            "find_in_set" => FindInSet,
            "elt" => Elt,
            "levenshtein" => Levenshtein,
            "soundex" => Soundex,
            "format_number" => FormatNumber,
            "get_json_object" => GetJsonObject,
            "json_array_length" => JsonArrayLength,
            "json_object_keys" => JsonObjectKeys,
            "format_string" | "printf" => FormatString,
            "format" => Format,
            "bit_length" => BitLength,
            // `strlen` is DuckDB's name (bytes, as octet_length)
            "octet_length" | "strlen" => OctetLength,
            "luhn_check" => LuhnCheck,
            "btrim" => TrimChars,
            "overlay" => Overlay,
            "md5" => Md5,
            "sha1" | "sha" => Sha1,
            "sha2" => Sha2,
            "crc32" => Crc32,
            "xxhash64" => XxHash64,
            "hash" => Murmur3,
            "base64" => Base64,
            "unbase64" => Unbase64,
            // `from_hex` is DuckDB's name
            "unhex" | "from_hex" => Unhex,
            "encode" => Encode,
            "decode" => Decode,
            "to_binary" => ToBinary,
            "url_encode" => UrlEncode,
            "url_decode" => UrlDecode,
            "try_url_decode" => TryUrlDecode,
            "uuid" => Uuid,
            "jaro_similarity" => JaroSimilarity,
            "jaro_winkler_similarity" => JaroWinklerSimilarity,
            "jaccard" => Jaccard,
            "unicode" => Unicode,
            "parse_formatted_bytes" => ParseFormattedBytes,
            _ => return None,
        })
    }

    /// `uuid()` differs on every call.
    pub fn is_deterministic(&self) -> bool {
        !matches!(self, StringFunc::Uuid | StringFunc::RaiseError)
    }

    /// Argument types to cast to and the result type (see [`super::scalar::ScalarFunc::signature`]).
    pub fn signature(&self, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
        use StringFunc::*;
        let n = args.len();
        let s = DataType::Utf8;
        let i = DataType::Int32;
        let b = DataType::Binary;
        let want = |lo: usize, hi: usize| super::check_arity(self.name(), n, lo, hi);
        Ok(match self {
            RegexpReplace => {
                want(3, 4)?;
                if n == 4 && !crate::types::is_integer(&args[3]) && args[3] != DataType::Null {
                    return Err(wrong_type(self, 4, "int", &args[3]));
                }
                let mut v = vec![s.clone(); 3];
                if n == 4 {
                    v.push(i);
                }
                (v, s)
            }
            RLike => {
                want(2, 2)?;
                (vec![s.clone(), s], DataType::Boolean)
            }
            RegexpCount => {
                want(2, 2)?;
                (vec![s.clone(), s], i)
            }
            // regexp_instr(str, regexp[, idx]): idx is the group whose start is returned
            RegexpInstr => {
                want(2, 3)?;
                let mut v = vec![s.clone(), s];
                if n == 3 {
                    v.push(i.clone());
                }
                (v, i)
            }
            RegexpSubstr => {
                want(2, 2)?;
                (vec![s.clone(), s.clone()], s)
            }
            Repeat => {
                want(2, 2)?;
                (vec![s.clone(), i], s)
            }
            Space => {
                want(1, 1)?;
                (vec![i], s)
            }
            Translate => {
                want(3, 3)?;
                (vec![s.clone(); 3], s)
            }
            Mask => {
                want(1, 5)?;
                (vec![s.clone(); n], s)
            }
            SubstringIndex => {
                want(3, 3)?;
                (vec![s.clone(), s.clone(), i], s)
            }
            ParseUrl => {
                want(2, 3)?;
                (vec![s.clone(); args.len()], s)
            }
            FindInSet => {
                want(2, 2)?;
                (vec![s.clone(), s], i)
            }
            Elt => {
                want(2, usize::MAX)?;
                // Spark's Elt of binaries only is a binary
                // (spark.sql.function.eltOutputAsString off, its default)
                let t = if args[1..].iter().all(|t| t == &DataType::Binary) {
                    DataType::Binary
                } else {
                    s
                };
                let mut v = vec![i];
                v.extend(std::iter::repeat_n(t.clone(), n - 1));
                (v, t)
            }
            Levenshtein => {
                want(2, 3)?;
                let mut v = vec![s.clone(), s];
                if n == 3 {
                    v.push(i.clone());
                }
                (v, i)
            }
            Soundex => {
                want(1, 1)?;
                (vec![s.clone()], s)
            }
            JaroSimilarity | JaroWinklerSimilarity => {
                want(2, 3)?;
                let mut v = vec![s.clone(), s];
                if n == 3 {
                    v.push(DataType::Float64);
                }
                (v, DataType::Float64)
            }
            Jaccard => {
                want(2, 2)?;
                (vec![s.clone(), s], DataType::Float64)
            }
            Unicode => {
                want(1, 1)?;
                (vec![s], i)
            }
            ParseFormattedBytes => {
                want(1, 1)?;
                if !crate::types::is_string(&args[0]) && args[0] != DataType::Null {
                    return Err(wrong_type(self, 1, "string", &args[0]));
                }
                (vec![s], DataType::Int64)
            }
            FormatNumber => {
                want(2, 2)?;
                if !is_numeric(&args[0]) && args[0] != DataType::Null {
                    return Err(wrong_type(self, 1, "numeric", &args[0]));
                }
                if !crate::types::is_integer(&args[1]) && args[1] != DataType::Null {
                    return Err(QuarryError::NotSupported(
                        "format_number with a DecimalFormat pattern (give the number of decimal places)".into(),
                    ));
                }
                (vec![DataType::Float64, i], s)
            }
            GetJsonObject => {
                want(2, 2)?;
                strings_only(self, args)?;
                (vec![s.clone(), s.clone()], s)
            }
            ToNumber { .. } => {
                want(2, 2)?;
                (vec![s.clone(), s.clone()], s)
            }
            ToCharNumber => {
                want(2, 2)?;
                (vec![args[0].clone(), s.clone()], s)
            }
            JsonTuple => {
                want(2, usize::MAX)?;
                let fields: Vec<Field> = (0..n - 1)
                    .map(|k| Field::new(format!("c{k}"), DataType::Utf8, true))
                    .collect();
                (vec![s; n], DataType::Struct(fields.into()))
            }
            JsonArrayLength | JsonObjectKeys => {
                want(1, 1)?;
                strings_only(self, args)?;
                let out = match self {
                    JsonArrayLength => i,
                    _ => crate::types::list_type(DataType::Utf8),
                };
                (vec![s], out)
            }
            FormatString | Format => {
                want(1, usize::MAX)?;
                let mut v = vec![s.clone()];
                v.extend(args[1..].iter().cloned());
                (v, s)
            }
            BitLength | OctetLength => {
                want(1, 1)?;
                (vec![b], i)
            }
            LuhnCheck => {
                want(1, 1)?;
                (vec![s], DataType::Boolean)
            }
            LikeEscape => {
                want(2, 2)?;
                (vec![s.clone(), s.clone()], s)
            }
            TrimChars | LTrimChars | RTrimChars => {
                want(1, 2)?;
                (vec![s.clone(); n], s)
            }
            Overlay => {
                want(3, 4)?;
                let mut v = vec![s.clone(), s.clone(), i.clone()];
                if n == 4 {
                    v.push(i);
                }
                (v, s)
            }
            Md5 | Sha1 => {
                want(1, 1)?;
                (vec![b], s)
            }
            Sha2 => {
                want(2, 2)?;
                (vec![b, i], s)
            }
            Crc32 => {
                want(1, 1)?;
                (vec![b], DataType::Int64)
            }
            XxHash64 | Murmur3 => {
                want(1, usize::MAX)?;
                // Spark 3: equal maps may hash apart (entry order), so maps are refused
                if args.iter().any(has_map) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.HASH_MAP_TYPE] Cannot resolve \"{}\": input to the function `{}` cannot contain elements of the \"MAP\" type (equal maps can have different hash codes)",
                        self.name(),
                        self.name()
                    )));
                }
                let out = if *self == XxHash64 {
                    DataType::Int64
                } else {
                    DataType::Int32
                };
                (args.to_vec(), out)
            }
            Base64 => {
                want(1, 1)?;
                (vec![b], s)
            }
            Unbase64 | Unhex => {
                want(1, 1)?;
                (vec![s], b)
            }
            Encode => {
                want(2, 2)?;
                (vec![s.clone(), s], b)
            }
            Decode => {
                want(2, 2)?;
                (vec![b, s.clone()], s)
            }
            ToBinary => {
                want(1, 2)?;
                if n == 2 && !crate::types::is_string(&args[1]) && args[1] != DataType::Null {
                    return Err(wrong_type(self, 2, "string", &args[1]));
                }
                (vec![s; n], b)
            }
            UrlEncode | UrlDecode | TryUrlDecode => {
                want(1, 1)?;
                (vec![s.clone()], s)
            }
            Uuid => {
                want(0, 0)?;
                (vec![], s)
            }
            RaiseError => {
                want(1, 1)?;
                (vec![s], DataType::Null)
            }
        })
    }
}

/// Refuses any argument that is not a string or NULL: the functions Spark declares with
/// ExpectsInputTypes and no implicit cast (get_json_object, json_array_length,
/// json_object_keys).
fn strings_only(f: &StringFunc, args: &[DataType]) -> Result<()> {
    match args
        .iter()
        .enumerate()
        .find(|(_, t)| !crate::types::is_string(t) && **t != DataType::Null)
    {
        Some((k, t)) => Err(wrong_type(f, k + 1, "STRING", t)),
        None => Ok(()),
    }
}

fn wrong_type(f: &StringFunc, pos: usize, want: &str, got: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": parameter {pos} requires the \"{want}\" type, however it has the type \"{}\"",
        f.name(),
        type_name(got)
    ))
}

fn exec(f: &str, msg: impl std::fmt::Display) -> QuarryError {
    QuarryError::Execution(format!("{f}: {msg}"))
}

/// Compile a regular expression, reusing the last one while the pattern repeats.
pub(super) struct RegexCache {
    last: Option<(String, regex::Regex)>,
    func: &'static str,
}

impl RegexCache {
    pub(super) fn new(func: &'static str) -> Self {
        RegexCache { last: None, func }
    }
    pub(super) fn get(&mut self, p: &str) -> Result<&regex::Regex> {
        if self.last.as_ref().is_none_or(|(c, _)| c != p) {
            if has_possessive_quantifier(p) {
                // the regex crate reads `a*+` as `(a*)+`, which matches where Java's
                // possessive `a*+` does not: refused rather than a different answer
                return Err(QuarryError::NotSupported(format!(
                    "{}: the possessive quantifier in the regular expression '{p}'",
                    self.func
                )));
            }
            let re = regex::Regex::new(p).map_err(|e| {
                // the regex crate's message draws the pattern over several lines;
                // its last line says what is wrong
                let e = e.to_string();
                let why = e
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ");
                QuarryError::Execution(format!(
                    "[INVALID_PARAMETER_VALUE.PATTERN] {}: invalid regular expression '{p}': {why}",
                    self.func
                ))
            })?;
            self.last = Some((p.to_string(), re));
        }
        match &self.last {
            Some((_, re)) => Ok(re),
            None => Err(QuarryError::Internal("regex cache".into())),
        }
    }
}

/// Whether a Java regular expression has a possessive quantifier (`x*+`, `x++`, `x?+`,
/// `x{n,m}+`) outside escapes and character classes.
fn has_possessive_quantifier(p: &str) -> bool {
    let b = p.as_bytes();
    let (mut i, mut class) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => class += 1,
            b']' if class > 0 => class -= 1,
            b'*' | b'+' | b'?' | b'}' if class == 0 => {
                // `(?` opens a group, not a quantifier
                let quantifier = !(b[i] == b'?' && i > 0 && b[i - 1] == b'(');
                if quantifier && b.get(i + 1) == Some(&b'+') {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Java's replacement syntax (`$1`, `${name}`, `\$`) in the `regex` crate's (`${1}`, `$$`).
fn java_replacement(rep: &str) -> String {
    let mut out = String::with_capacity(rep.len() + 4);
    let mut it = rep.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                if it.peek() == Some(&'{') {
                    out.push('$');
                    continue;
                }
                let mut num = String::new();
                while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                    num.push(*d);
                    it.next();
                }
                if num.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{num}}}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn binaries(a: &ArrayRef) -> &BinaryArray {
    a.as_binary::<i32>()
}

/// The part of `url` that Spark's `parse_url` names by `part` (case-sensitive, as
/// Spark): `PROTOCOL` (scheme), `AUTHORITY`, `USERINFO`, `HOST`, `PATH`, `QUERY`,
/// `REF` (fragment) and `FILE` (path and query), all raw (percent-escapes kept), as
/// java.net.URI's getRaw* methods. The URL is split as RFC 3986's appendix B; one
/// with a character java.net.URI refuses (space, `"`, `<`, `>`, `\`, `^`, `` ` ``,
/// `{`, `|`, `}` or a `%` not followed by two hex digits) has no parts (Spark's NULL
/// in non-ANSI mode), as has an unknown `part`.
pub fn parse_url<'a>(url: &'a str, part: &str) -> Option<&'a str> {
    let b = url.as_bytes();
    let bad_escape = b.iter().enumerate().any(|(i, c)| {
        *c == b'%'
            && !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
    });
    if bad_escape
        || url
            .chars()
            .any(|c| c.is_ascii_control() || " \"<>\\^`{|}".contains(c))
    {
        return None;
    }
    // scheme: up to the first ':' if it comes before any '/', '?' or '#'
    let (scheme, rest) = match url.find([':', '/', '?', '#']) {
        Some(i) if url.as_bytes()[i] == b':' && i > 0 => (Some(&url[..i]), &url[i + 1..]),
        _ => (None, url),
    };
    let (before_frag, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (hier, query) = match before_frag.find('?') {
        Some(i) => (&before_frag[..i], Some(&before_frag[i + 1..])),
        None => (before_frag, None),
    };
    let (authority, path) = match hier.strip_prefix("//") {
        Some(a) => match a.find('/') {
            Some(i) => (Some(&a[..i]), &a[i..]),
            None => (Some(a), ""),
        },
        None => (None, hier),
    };
    let authority = authority.filter(|a| !a.is_empty());
    let (userinfo, hostport) = match authority {
        Some(a) => match a.rfind('@') {
            Some(i) => (Some(&a[..i]), Some(&a[i + 1..])),
            None => (None, Some(a)),
        },
        None => (None, None),
    };
    let host = hostport.map(|h| {
        if h.starts_with('[') {
            h.find(']').map_or(h, |i| &h[..=i])
        } else {
            h.rfind(':').map_or(h, |i| &h[..i])
        }
    });
    match part {
        "PROTOCOL" => scheme,
        "AUTHORITY" => authority,
        "USERINFO" => userinfo,
        "HOST" => host.filter(|h| !h.is_empty()),
        "QUERY" => query,
        "REF" => fragment,
        // a URI with a scheme and a path not starting with `/` (mailto:x) is opaque:
        // it has no path
        "PATH" | "FILE" if scheme.is_some() && authority.is_none() && !path.starts_with('/') => {
            None
        }
        "PATH" => Some(path),
        // the path and `?query`, which end the text before the fragment
        "FILE" => {
            Some(&before_frag[before_frag.len() - path.len() - query.map_or(0, |q| q.len() + 1)..])
        }
        _ => None,
    }
}

fn str_result(it: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(it.collect::<StringArray>())
}

/// Spark's base64 decoding (`unbase64`, `to_binary(s, 'base64')`): whitespace is
/// ignored, padding is optional but must be right when present; NULL when malformed.
fn spark_unbase64(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(compact.as_bytes())
                .ok()
        })
}

/// `unhex`: an odd length gets a leading 0; NULL for a non-hex digit.
fn spark_unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 == 1 {
        hex::decode(format!("0{s}")).ok()
    } else {
        hex::decode(s).ok()
    }
}

fn luhn(s: &str) -> bool {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// American soundex, as Spark's `soundex` (a string not starting with a letter is
/// returned unchanged).
fn soundex(s: &str) -> String {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    if !first.is_ascii_alphabetic() {
        return s.to_string();
    }
    let code = |c: char| match c.to_ascii_uppercase() {
        'B' | 'F' | 'P' | 'V' => '1',
        'C' | 'G' | 'J' | 'K' | 'Q' | 'S' | 'X' | 'Z' => '2',
        'D' | 'T' => '3',
        'L' => '4',
        'M' | 'N' => '5',
        'R' => '6',
        'H' | 'W' => '-',
        _ => '0',
    };
    let mut out = String::new();
    out.push(first.to_ascii_uppercase());
    let mut last = code(first);
    for c in chars {
        if out.len() == 4 {
            break;
        }
        let k = code(c);
        if k == '-' {
            continue;
        }
        if k != '0' && k != last {
            out.push(k);
        }
        last = k;
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

fn substring_index(s: &str, delim: &str, count: i32) -> String {
    if delim.is_empty() || count == 0 {
        return String::new();
    }
    if count > 0 {
        let mut idx = 0;
        for _ in 0..count {
            match s[idx..].find(delim) {
                Some(p) => idx += p + delim.len(),
                None => return s.to_string(),
            }
        }
        s[..idx - delim.len()].to_string()
    } else {
        let mut end = s.len();
        for _ in 0..count.unsigned_abs() {
            match s[..end].rfind(delim) {
                Some(p) => end = p,
                None => return s.to_string(),
            }
        }
        s[end + delim.len()..].to_string()
    }
}

/// `text` (a plain decimal number, maybe signed) with commas between groups of three
/// integer digits: `-1234567.891` -> `-1,234,567.891`.
fn group_thousands(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::from(sign);
    for (k, c) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// `format_number(x, d)`: grouping commas and `d` decimals, HALF_EVEN (Java's DecimalFormat).
fn format_number(x: f64, d: i32) -> Option<String> {
    if d < 0 {
        return None;
    }
    if !x.is_finite() {
        return Some(if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        });
    }
    // a double has at most 340 fraction digits in Java's DecimalFormat
    let text = group_thousands(&format!("{:.*}", d.min(340) as usize, x));
    // a negative number that rounds to zero prints without its sign
    let zero = text.chars().all(|c| matches!(c, '-' | '0' | ',' | '.'));
    Some(if zero {
        text.trim_start_matches('-').to_string()
    } else {
        text
    })
}

/// One argument of `format_string`, as Java sees it.
enum FmtArg {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// A `format_string` argument column, cast once per batch to what Java would see.
fn fmt_column(a: &ArrayRef) -> ArrayRef {
    let t = a.data_type();
    let to = if crate::types::is_integer(t) {
        DataType::Int64
    } else if matches!(
        t,
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..)
    ) {
        DataType::Float64
    } else {
        return a.clone();
    };
    arrow::compute::cast(a, &to).unwrap_or_else(|_| a.clone())
}

/// Row `i` of a column prepared by [`fmt_column`].
fn fmt_arg(a: &ArrayRef, i: usize) -> FmtArg {
    // a NULL literal is a NullArray, whose `is_null` says false
    if a.data_type() == &DataType::Null || a.is_null(i) {
        return FmtArg::Null;
    }
    match a.data_type() {
        DataType::Int64 => FmtArg::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => FmtArg::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => FmtArg::Bool(a.as_boolean().value(i)),
        _ => FmtArg::Text(crate::format::format_value(a.as_ref(), i)),
    }
}

fn pad(s: String, width: Option<usize>, left: bool, zero: bool) -> String {
    let Some(w) = width else { return s };
    let len = s.chars().count();
    if len >= w {
        return s;
    }
    let fill = w - len;
    if left {
        format!("{s}{}", " ".repeat(fill))
    } else if zero {
        let (sign, digits) = match s.strip_prefix('-') {
            Some(d) => ("-", d.to_string()),
            None => ("", s),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

/// DuckDB's `format` (the fmt library's syntax): `{}` takes the next argument, `{n}`
/// the n-th (0-based), `{{`/`}}` are braces; a spec after `:` is
/// `[[fill]align][sign][#][0][width][.precision][type]` with types `d x X b o` (an
/// integer), `f F e E g G %` (a number), `s` (a string). Without a type a value prints
/// as Quarry prints it, a float with a precision as `g`. `None` when a used argument
/// is NULL; errors for a missing argument or a type the value does not have.
fn brace_format(fmt: &str, args: &[ArrayRef], r: usize) -> Result<Option<String>> {
    let err = |m: String| QuarryError::Execution(format!("format: {m} in \"{fmt}\""));
    let chars: Vec<char> = fmt.chars().collect();
    let (mut out, mut i, mut next) = (String::new(), 0, 0usize);
    while i < chars.len() {
        let c = chars[i];
        if c == '}' {
            if chars.get(i + 1) == Some(&'}') {
                i += 1;
            }
            out.push('}');
            i += 1;
            continue;
        }
        if c != '{' {
            out.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            out.push('{');
            i += 2;
            continue;
        }
        let close = chars[i..]
            .iter()
            .position(|c| *c == '}')
            .map(|p| p + i)
            .ok_or_else(|| err("an unclosed '{'".into()))?;
        let field: String = chars[i + 1..close].iter().collect();
        i = close + 1;
        let (index, spec) = match field.split_once(':') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (field.clone(), String::new()),
        };
        let k = if index.is_empty() {
            next += 1;
            next - 1
        } else {
            index
                .trim()
                .parse::<usize>()
                .map_err(|_| err(format!("the argument index '{index}'")))?
        };
        let a = args
            .get(k)
            .ok_or_else(|| err(format!("argument {k} is missing")))?;
        if a.data_type() == &DataType::Null || a.is_null(r) {
            return Ok(None);
        }
        out.push_str(&brace_spec(a, r, &spec).map_err(err)?);
    }
    Ok(Some(out))
}

/// One `{:spec}` of [`brace_format`] applied to row `r` of `a` (not NULL).
fn brace_spec(a: &ArrayRef, r: usize, spec: &str) -> std::result::Result<String, String> {
    let plain = || crate::format::format_value(a.as_ref(), r);
    if spec.is_empty() {
        return Ok(plain());
    }
    let cs: Vec<char> = spec.chars().collect();
    let mut p = 0;
    let (mut fill, mut align) = (' ', None);
    let is_align = |c: char| matches!(c, '<' | '>' | '^');
    if cs.len() >= 2 && is_align(cs[1]) {
        fill = cs[0];
        align = Some(cs[1]);
        p = 2;
    } else if cs.first().is_some_and(|c| is_align(*c)) {
        align = Some(cs[0]);
        p = 1;
    }
    let mut sign = '-';
    if let Some(c @ ('+' | '-' | ' ')) = cs.get(p) {
        sign = *c;
        p += 1;
    }
    let alt = cs.get(p) == Some(&'#');
    if alt {
        p += 1;
    }
    let zero = cs.get(p) == Some(&'0');
    if zero {
        p += 1;
    }
    let digits = |p: &mut usize| {
        let start = *p;
        while cs.get(*p).is_some_and(|c| c.is_ascii_digit()) {
            *p += 1;
        }
        cs[start..*p]
            .iter()
            .collect::<String>()
            .parse::<usize>()
            .ok()
    };
    let width = digits(&mut p);
    let precision = if cs.get(p) == Some(&'.') {
        p += 1;
        Some(digits(&mut p).ok_or("a precision without digits")?)
    } else {
        None
    };
    let ty: String = cs[p..].iter().collect();
    if ty.chars().count() > 1 {
        return Err(format!("the format spec '{spec}'"));
    }
    let t = a.data_type();
    let int = || -> std::result::Result<i128, String> {
        if crate::types::is_integer(t) {
            let v = arrow::compute::cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
            Ok(v.as_primitive::<Int64Type>().value(r) as i128)
        } else {
            Err(format!(
                "'{{:{spec}}}' needs an integer, not {}",
                crate::types::type_name(t)
            ))
        }
    };
    let float = || -> std::result::Result<f64, String> {
        if crate::types::is_numeric(t) {
            let v = arrow::compute::cast(a, &DataType::Float64).map_err(|e| e.to_string())?;
            Ok(v.as_primitive::<Float64Type>().value(r))
        } else {
            Err(format!(
                "'{{:{spec}}}' needs a number, not {}",
                crate::types::type_name(t)
            ))
        }
    };
    let with_sign = |neg: bool, body: String| -> (String, String) {
        let s = if neg {
            "-"
        } else if sign == '+' {
            "+"
        } else if sign == ' ' {
            " "
        } else {
            ""
        };
        (s.to_string(), body)
    };
    let (prefix, body, numeric) = match ty.as_str() {
        "d" | "x" | "X" | "b" | "o" => {
            let v = int()?;
            let m = v.unsigned_abs();
            let (body, base) = match ty.as_str() {
                "x" => (format!("{m:x}"), "0x"),
                "X" => (format!("{m:X}"), "0X"),
                "b" => (format!("{m:b}"), "0b"),
                "o" => (format!("{m:o}"), "0"),
                _ => (m.to_string(), ""),
            };
            let (s, body) = with_sign(v < 0, body);
            (if alt { format!("{s}{base}") } else { s }, body, true)
        }
        "f" | "F" | "e" | "E" | "%" => {
            let v = float()?;
            let pr = precision.unwrap_or(6);
            let body = match ty.as_str() {
                "e" => rust_exp(v.abs(), pr, false),
                "E" => rust_exp(v.abs(), pr, true),
                "%" => format!("{:.pr$}%", v.abs() * 100.0),
                _ => format!("{:.pr$}", v.abs()),
            };
            let (s, body) = with_sign(v.is_sign_negative() && v != 0.0, body);
            (s, body, true)
        }
        "g" | "G" | "" if precision.is_some() && crate::types::is_numeric(t) => {
            let v = float()?;
            let body = general(v.abs(), precision.unwrap_or(6).max(1));
            let (s, body) = with_sign(v.is_sign_negative() && v != 0.0, body);
            (s, body, true)
        }
        "s" if !crate::types::is_string(t) => {
            return Err(format!(
                "'{{:{spec}}}' needs a string, not {}",
                crate::types::type_name(t)
            ))
        }
        "s" | "" => {
            let mut v = plain();
            if let Some(pr) = precision {
                v = v.chars().take(pr).collect();
            }
            (String::new(), v, crate::types::is_numeric(t))
        }
        other => return Err(format!("the format type '{other}'")),
    };
    let len = prefix.chars().count() + body.chars().count();
    let w = width.unwrap_or(0);
    if len >= w {
        return Ok(format!("{prefix}{body}"));
    }
    let padn = w - len;
    if zero && align.is_none() && numeric {
        return Ok(format!("{prefix}{}{body}", "0".repeat(padn)));
    }
    let text = format!("{prefix}{body}");
    let f = |n: usize| fill.to_string().repeat(n);
    // numbers align right by default, everything else left (fmt's rule)
    Ok(match align.unwrap_or(if numeric { '>' } else { '<' }) {
        '<' => format!("{text}{}", f(padn)),
        '^' => format!("{}{text}{}", f(padn / 2), f(padn - padn / 2)),
        _ => format!("{}{text}", f(padn)),
    })
}

/// `x` (>= 0) as `d.ddde+XX` with `precision` fraction digits (C's `%e`).
fn rust_exp(x: f64, precision: usize, upper: bool) -> String {
    let s = format!("{x:.precision$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let out = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

/// `x` (>= 0) with `precision` significant digits, as C's `%g` (trailing zeros removed).
fn general(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.log10().floor() as i32;
    if exp < -4 || exp >= precision as i32 {
        let s = rust_exp(x, precision - 1, false);
        let (m, e) = s.split_once('e').unwrap_or((&s, ""));
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        return format!("{m}e{e}");
    }
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Java's `String.format` for the common conversions: `%s %S %d %x %X %o %f %e %E %g
/// %b %c %% %n`, flags `-`, `0`, `+`, `,`, width, precision and `n$` positions.
/// Errors name a missing argument or an unknown conversion, as Java's exceptions.
fn java_format(fmt: &str, args: &[FmtArg]) -> Result<String> {
    let mut out = String::new();
    let chars: Vec<char> = fmt.chars().collect();
    let mut i = 0;
    let mut next_arg = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        // [n$][flags][width][.precision]conversion
        let start = i;
        let mut pos: Option<usize> = None;
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        if j < chars.len() && chars[j] == '$' && j > i {
            let n: String = chars[i..j].iter().collect();
            pos = n.parse::<usize>().ok();
            i = j + 1;
        }
        let mut flags = String::new();
        while i < chars.len() && "-#+ 0,(".contains(chars[i]) {
            flags.push(chars[i]);
            i += 1;
        }
        let mut width = String::new();
        while i < chars.len() && chars[i].is_ascii_digit() {
            width.push(chars[i]);
            i += 1;
        }
        let mut precision: Option<usize> = None;
        if i < chars.len() && chars[i] == '.' {
            i += 1;
            let mut p = String::new();
            while i < chars.len() && chars[i].is_ascii_digit() {
                p.push(chars[i]);
                i += 1;
            }
            precision = p.parse().ok();
        }
        let Some(&conv) = chars.get(i) else {
            let spec: String = chars[start - 1..].iter().collect();
            return Err(exec(
                "format_string",
                format!("UnknownFormatConversionException: Conversion = '{spec}'"),
            ));
        };
        i += 1;
        let width: Option<usize> = width.parse().ok();
        // a width past what a column holds would exhaust memory first
        super::check_column_bytes("format_string", width.unwrap_or(0))?;
        if precision.is_some_and(|p| p > usize::from(u16::MAX)) {
            return Err(exec(
                "format_string",
                format!("the precision {} is too large", precision.unwrap_or(0)),
            ));
        }
        let left = flags.contains('-');
        let zero = flags.contains('0');
        match conv {
            '%' => {
                out.push_str(&pad("%".into(), width, left, false));
                continue;
            }
            'n' => {
                out.push('\n');
                continue;
            }
            _ => {}
        }
        let idx = match pos {
            Some(0) => {
                return Err(exec(
                    "format_string",
                    "IllegalFormatArgumentIndexException: Illegal format argument index = 0",
                ))
            }
            Some(p) => p - 1,
            _ => {
                next_arg += 1;
                next_arg - 1
            }
        };
        let Some(arg) = args.get(idx) else {
            return Err(exec(
                "format_string",
                format!(
                    "MissingFormatArgumentException: Format specifier '%{}'",
                    chars[start..i].iter().collect::<String>()
                ),
            ));
        };
        let group = |digits: String| -> String {
            if flags.contains(',') {
                group_thousands(&digits)
            } else {
                digits
            }
        };
        let plus = |s: String, nonneg: bool| {
            if flags.contains('+') && nonneg {
                format!("+{s}")
            } else {
                s
            }
        };
        let text = match (conv, arg) {
            ('s' | 'S', a) => {
                let s = match a {
                    FmtArg::Null => "null".to_string(),
                    FmtArg::Int(v) => v.to_string(),
                    FmtArg::Float(v) => crate::format::java_double(*v),
                    FmtArg::Text(t) => t.clone(),
                    FmtArg::Bool(b) => b.to_string(),
                };
                let s = match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                };
                if conv == 'S' {
                    s.to_uppercase()
                } else {
                    s
                }
            }
            ('b' | 'B', a) => {
                let v = match a {
                    FmtArg::Null => false,
                    FmtArg::Bool(b) => *b,
                    _ => true,
                };
                v.to_string()
            }
            (_, FmtArg::Null) => "null".to_string(),
            ('d', FmtArg::Int(v)) => plus(group(v.to_string()), *v >= 0),
            ('x', FmtArg::Int(v)) => format!("{v:x}"),
            ('X', FmtArg::Int(v)) => format!("{v:X}"),
            ('o', FmtArg::Int(v)) => format!("{v:o}"),
            ('c', FmtArg::Int(v)) => char::from_u32(*v as u32)
                .map(String::from)
                .unwrap_or_default(),
            ('f', FmtArg::Float(v)) => plus(
                group(format!("{:.*}", precision.unwrap_or(6), v)),
                *v >= 0.0,
            ),
            ('e' | 'E', FmtArg::Float(v)) => {
                let s = format!("{:.*e}", precision.unwrap_or(6), v);
                // Java writes the exponent with a sign and at least two digits
                let s = match s.split_once('e') {
                    Some((m, e)) => {
                        let (sign, digits) = match e.strip_prefix('-') {
                            Some(d) => ('-', d),
                            None => ('+', e),
                        };
                        format!("{m}e{sign}{digits:0>2}")
                    }
                    None => s,
                };
                if conv == 'E' {
                    s.to_uppercase()
                } else {
                    s
                }
            }
            ('g' | 'G', FmtArg::Float(v)) => format!("{v}"),
            (c, a) => {
                let t = match a {
                    FmtArg::Int(_) => "java.lang.Long",
                    FmtArg::Float(_) => "java.lang.Double",
                    FmtArg::Text(_) => "java.lang.String",
                    FmtArg::Bool(_) => "java.lang.Boolean",
                    FmtArg::Null => "null",
                };
                if "dxXofeEgGc".contains(c) {
                    return Err(exec(
                        "format_string",
                        format!("IllegalFormatConversionException: {c} != {t}"),
                    ));
                }
                return Err(exec(
                    "format_string",
                    format!("UnknownFormatConversionException: Conversion = '{c}'"),
                ));
            }
        };
        out.push_str(&pad(text, width, left, zero));
    }
    Ok(out)
}

fn trim_set(s: &str, chars: &str, leading: bool, trailing: bool) -> String {
    let set = |c: char| chars.contains(c);
    let mut t = s;
    if leading {
        t = t.trim_start_matches(set);
    }
    if trailing {
        t = t.trim_end_matches(set);
    }
    t.to_string()
}

/// Spark's names of `mask`'s replacement arguments, in order (for its errors).
pub const MASK_ARGUMENTS: [&str; 4] = ["upperChar", "lowerChar", "digitChar", "otherChar"];

/// Evaluate over arguments cast to the signature's types; `n` rows.
pub fn evaluate(func: StringFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    use StringFunc::*;
    let valid = |r: usize| args.iter().all(|a| a.is_valid(r));
    Ok(match func {
        RegexpReplace => {
            let (st, pat, rep) = (strings(&args[0])?, strings(&args[1])?, strings(&args[2])?);
            let pos = args.get(3).map(ints).transpose()?;
            let mut cache = RegexCache::new("regexp_replace");
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                let re = cache.get(pat.value(r))?;
                let s = st.value(r);
                let p = pos.map_or(1, |p| p.value(r));
                if p < 1 {
                    return Err(exec(
                        "regexp_replace",
                        format!("the position must be positive, got {p}"),
                    ));
                }
                // the first `p - 1` characters are kept as they are
                let cut = s
                    .char_indices()
                    .nth(p as usize - 1)
                    .map_or(s.len(), |(k, _)| k);
                let repl = java_replacement(rep.value(r));
                let tail = re.replace_all(&s[cut..], repl.as_str());
                b.append_value(format!("{}{}", &s[..cut], tail));
            }
            Arc::new(b.finish())
        }
        RLike | RegexpCount | RegexpSubstr | RegexpInstr => {
            let (st, pat) = (strings(&args[0])?, strings(&args[1])?);
            let mut cache = RegexCache::new(func.name());
            match func {
                RLike => {
                    let mut out = BooleanBuilder::with_capacity(n);
                    for r in 0..n {
                        if !valid(r) {
                            out.append_null();
                        } else {
                            out.append_value(cache.get(pat.value(r))?.is_match(st.value(r)));
                        }
                    }
                    Arc::new(out.finish())
                }
                RegexpCount | RegexpInstr => {
                    let mut out = Int32Builder::with_capacity(n);
                    for r in 0..n {
                        if !valid(r) {
                            out.append_null();
                            continue;
                        }
                        let re = cache.get(pat.value(r))?;
                        let s = st.value(r);
                        if func == RegexpCount {
                            out.append_value(re.find_iter(s).count() as i32);
                        } else {
                            // 1-based character position of the first match (of its group
                            // `idx`, 0 by default), 0 for none or a group that took no part
                            let g = match args.get(2) {
                                Some(a) => a.as_primitive::<Int32Type>().value(r),
                                None => 0,
                            };
                            if g < 0 || g as usize >= re.captures_len() {
                                return Err(QuarryError::Execution(format!(
                                    "[INVALID_PARAMETER_VALUE.REGEX_GROUP_INDEX] regexp_instr: the group index {g} is out of range: the pattern '{}' has {} group(s)",
                                    pat.value(r),
                                    re.captures_len() - 1
                                )));
                            }
                            let start = re
                                .captures(s)
                                .and_then(|c| c.get(g as usize))
                                .map(|m| m.start());
                            out.append_value(
                                start.map_or(0, |at| s[..at].chars().count() as i32 + 1),
                            );
                        }
                    }
                    Arc::new(out.finish())
                }
                _ => {
                    let mut out = StringBuilder::new();
                    for r in 0..n {
                        if !valid(r) {
                            out.append_null();
                            continue;
                        }
                        match cache.get(pat.value(r))?.find(st.value(r)) {
                            Some(m) => out.append_value(m.as_str()),
                            None => out.append_null(),
                        }
                    }
                    Arc::new(out.finish())
                }
            }
        }
        Repeat | Space => {
            // space(k) is repeat(' ', k)
            let (st, k) = match func {
                Repeat => (Some(strings(&args[0])?), ints(&args[1])?),
                _ => (None, ints(&args[0])?),
            };
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                let unit = st.map_or(" ", |s| s.value(r));
                let times = k.value(r).max(0) as usize;
                super::check_column_bytes(func.name(), unit.len().saturating_mul(times))?;
                super::append_checked(&mut b, func.name(), &unit.repeat(times))?;
            }
            Arc::new(b.finish())
        }
        Translate => {
            let (st, from, to) = (strings(&args[0])?, strings(&args[1])?, strings(&args[2])?);
            str_result((0..n).map(|r| {
                if !valid(r) {
                    return None;
                }
                let from: Vec<char> = from.value(r).chars().collect();
                let to: Vec<char> = to.value(r).chars().collect();
                Some(
                    st.value(r)
                        .chars()
                        .filter_map(|c| match from.iter().position(|f| *f == c) {
                            Some(k) => to.get(k).copied(),
                            None => Some(c),
                        })
                        .collect(),
                )
            }))
        }
        Mask => {
            let cols = args.iter().map(strings).collect::<Result<Vec<_>>>()?;
            const NAMES: [&str; 4] = MASK_ARGUMENTS;
            const DEFAULTS: [Option<char>; 4] = [Some('X'), Some('x'), Some('n'), None];
            let mut out = StringBuilder::new();
            for r in 0..n {
                if cols[0].is_null(r) {
                    out.append_null();
                    continue;
                }
                let mut with = DEFAULTS;
                for (k, w) in with.iter_mut().enumerate() {
                    let Some(c) = cols.get(k + 1) else { break };
                    *w = if c.is_null(r) {
                        None
                    } else {
                        let v = c.value(r);
                        if v == "-1" {
                            // Spark's "do not mask this class"
                            *w = None;
                            continue;
                        }
                        let mut it = v.chars();
                        match (it.next(), it.next()) {
                            (Some(ch), None) => Some(ch),
                            _ => {
                                return Err(QuarryError::Analysis(format!(
                                    "[DATATYPE_MISMATCH.INPUT_SIZE_NOT_ONE] Cannot resolve \"mask\": the length of `{}` should be 1, got '{v}'",
                                    NAMES[k]
                                )));
                            }
                        }
                    };
                }
                let masked: String = cols[0]
                    .value(r)
                    .chars()
                    .map(|c| {
                        use unicode_general_category::{
                            get_general_category, GeneralCategory as G,
                        };
                        let class = match get_general_category(c) {
                            G::UppercaseLetter => 0,
                            G::LowercaseLetter => 1,
                            G::DecimalNumber => 2,
                            _ => 3,
                        };
                        with[class].unwrap_or(c)
                    })
                    .collect();
                super::append_checked(&mut out, func.name(), &masked)?;
            }
            Arc::new(out.finish())
        }
        SubstringIndex => {
            let (st, d, k) = (strings(&args[0])?, strings(&args[1])?, ints(&args[2])?);
            str_result(
                (0..n).map(|r| {
                    valid(r).then(|| substring_index(st.value(r), d.value(r), k.value(r)))
                }),
            )
        }
        ParseUrl => {
            let parts = args.iter().map(strings).collect::<Result<Vec<_>>>()?;
            let mut key_re = RegexCache::new("parse_url");
            let mut out = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    out.append_null();
                    continue;
                }
                let key = parts.get(2).map(|k| k.value(r));
                let v = parse_url(parts[0].value(r), parts[1].value(r));
                match (v, key) {
                    (Some(q), Some(k)) if parts[1].value(r) == "QUERY" => {
                        // Spark: the value after `(&|^)key=`, up to the next `&`
                        let re = key_re.get(&format!("(&|^){}=([^&]*)", regex::escape(k)))?;
                        out.append_option(re.captures(q).and_then(|c| c.get(2)).map(|m| m.as_str()))
                    }
                    (_, Some(_)) => out.append_null(),
                    (v, None) => out.append_option(v),
                }
            }
            Arc::new(out.finish())
        }
        FindInSet => {
            let (st, list) = (strings(&args[0])?, strings(&args[1])?);
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let s = st.value(r);
                        if s.contains(',') {
                            return Some(0);
                        }
                        Some(
                            list.value(r)
                                .split(',')
                                .position(|x| x == s)
                                .map_or(0, |p| p as i32 + 1),
                        )
                    })
                    .collect::<Int32Array>(),
            )
        }
        Elt if args[1].data_type() == &DataType::Binary => {
            let k = ints(&args[0])?;
            let rest: Vec<&arrow::array::BinaryArray> =
                args[1..].iter().map(|a| a.as_binary::<i32>()).collect();
            Arc::new(
                (0..n)
                    .map(|r| {
                        let i = usize::try_from(k.is_valid(r).then(|| k.value(r))?)
                            .ok()?
                            .checked_sub(1)?;
                        let a = rest.get(i)?;
                        a.is_valid(r).then(|| a.value(r))
                    })
                    .collect::<arrow::array::BinaryArray>(),
            )
        }
        Elt => {
            let k = ints(&args[0])?;
            let rest: Vec<&StringArray> = args[1..].iter().map(strings).collect::<Result<_>>()?;
            str_result((0..n).map(|r| {
                if k.is_null(r) {
                    return None;
                }
                let i = usize::try_from(k.value(r)).ok()?.checked_sub(1)?;
                let a = rest.get(i)?;
                a.is_valid(r).then(|| a.value(r).to_string())
            }))
        }
        Levenshtein => {
            let (a, b) = (strings(&args[0])?, strings(&args[1])?);
            let t = args.get(2).map(ints).transpose()?;
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let d = strsim::levenshtein(a.value(r), b.value(r)) as i32;
                        // with a threshold, -1 when the distance is above it
                        Some(match t {
                            Some(t) if d > t.value(r) => -1,
                            _ => d,
                        })
                    })
                    .collect::<Int32Array>(),
            )
        }
        Soundex => str_result(strings(&args[0])?.iter().map(|v| v.map(soundex))),
        JaroSimilarity | JaroWinklerSimilarity => {
            let (a, b) = (strings(&args[0])?, strings(&args[1])?);
            let cutoff = args
                .get(2)
                .map(|c| {
                    c.as_any()
                        .downcast_ref::<Float64Array>()
                        .cloned()
                        .ok_or_else(|| exec(func.name(), "the cutoff must be a double"))
                })
                .transpose()?;
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        // as DuckDB: nothing is similar to an empty string
                        let sim = if a.value(r).is_empty() || b.value(r).is_empty() {
                            0.0
                        } else if func == JaroSimilarity {
                            strsim::jaro(a.value(r), b.value(r))
                        } else {
                            strsim::jaro_winkler(a.value(r), b.value(r))
                        };
                        Some(match &cutoff {
                            Some(c) if sim < c.value(r) => 0.0,
                            _ => sim,
                        })
                    })
                    .collect::<Float64Array>(),
            )
        }
        Jaccard => {
            let (a, b) = (strings(&args[0])?, strings(&args[1])?);
            let mut out = Float64Builder::with_capacity(n);
            for r in 0..n {
                if !valid(r) {
                    out.append_null();
                    continue;
                }
                let (x, y) = (a.value(r), b.value(r));
                if x.is_empty() || y.is_empty() {
                    return Err(exec("jaccard", "the strings must not be empty"));
                }
                let sa: std::collections::BTreeSet<char> = x.chars().collect();
                let sb: std::collections::BTreeSet<char> = y.chars().collect();
                let inter = sa.intersection(&sb).count();
                let union = sa.union(&sb).count();
                out.append_value(inter as f64 / union as f64);
            }
            Arc::new(out.finish())
        }
        ParseFormattedBytes => {
            let a = strings(&args[0])?;
            let mut out = Int64Builder::with_capacity(n);
            for v in a.iter() {
                match v {
                    Some(t) => out.append_value(parse_formatted_bytes(t)?),
                    None => out.append_null(),
                }
            }
            Arc::new(out.finish())
        }
        Unicode => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.map(|t| t.chars().next().map_or(-1, |c| c as i32)))
                .collect::<Int32Array>(),
        ),
        GetJsonObject => {
            let (j, p) = (strings(&args[0])?, strings(&args[1])?);
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                match super::json::get_json_object(j.value(r), p.value(r))? {
                    Some(v) => super::append_checked(&mut b, "get_json_object", &v)?,
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        JsonTuple => {
            let j = strings(&args[0])?;
            let keys: Vec<&StringArray> = args[1..].iter().map(strings).collect::<Result<_>>()?;
            let mut builders: Vec<StringBuilder> =
                keys.iter().map(|_| StringBuilder::new()).collect();
            for r in 0..n {
                let ks: Vec<Option<&str>> = keys
                    .iter()
                    .map(|k| k.is_valid(r).then(|| k.value(r)))
                    .collect();
                let vals = if j.is_valid(r) {
                    super::json::json_tuple_fields(j.value(r), &ks)
                } else {
                    vec![None; ks.len()]
                };
                for (b, v) in builders.iter_mut().zip(vals) {
                    match v {
                        Some(v) => super::append_checked(b, "json_tuple", &v)?,
                        None => b.append_null(),
                    }
                }
            }
            let fields: Vec<Field> = (0..keys.len())
                .map(|k| Field::new(format!("c{k}"), DataType::Utf8, true))
                .collect();
            let cols: Vec<ArrayRef> = builders
                .into_iter()
                .map(|mut b| Arc::new(b.finish()) as ArrayRef)
                .collect();
            Arc::new(StructArray::try_new(fields.into(), cols, None)?)
        }
        JsonArrayLength => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.and_then(super::json::json_array_length))
                .collect::<Int32Array>(),
        ),
        JsonObjectKeys => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in strings(&args[0])?.iter() {
                match v.and_then(super::json::json_object_keys) {
                    Some(keys) => {
                        for k in keys {
                            b.values().append_value(k);
                        }
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
        ToNumber { r#try } => {
            let (x, f) = (strings(&args[0])?, strings(&args[1])?);
            let mut format: Option<super::number_format::NumberFormat> = None;
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                let fmt = super::number_format::NumberFormat::cached(&mut format, f.value(r))?;
                match fmt.normalize(x.value(r)) {
                    Some(v) => b.append_value(v),
                    None if r#try => b.append_null(),
                    None => return Err(fmt.mismatch(x.value(r))),
                }
            }
            Arc::new(b.finish())
        }
        ToCharNumber => {
            let DataType::Decimal128(p, scale) = *args[0].data_type() else {
                return Err(QuarryError::Internal(format!(
                    "to_char of {}",
                    args[0].data_type()
                )));
            };
            let (x, f) = (args[0].as_primitive::<Decimal128Type>(), strings(&args[1])?);
            let mut format: Option<super::number_format::NumberFormat> = None;
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                let fmt = super::number_format::NumberFormat::cached(&mut format, f.value(r))?;
                let plain = Decimal128Type::format_decimal(x.value(r), p, scale);
                b.append_value(fmt.format_plain(&plain));
            }
            Arc::new(b.finish())
        }
        FormatNumber => {
            let (x, d) = (args[0].as_primitive::<Float64Type>(), ints(&args[1])?);
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                match format_number(x.value(r), d.value(r)) {
                    Some(v) => super::append_checked(&mut b, "format_number", &v)?,
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        FormatString => {
            let f = strings(&args[0])?;
            let cols: Vec<ArrayRef> = args[1..].iter().map(fmt_column).collect();
            let mut b = StringBuilder::new();
            for r in 0..n {
                if f.is_null(r) {
                    b.append_null();
                    continue;
                }
                let vals: Vec<FmtArg> = cols.iter().map(|a| fmt_arg(a, r)).collect();
                super::append_checked(&mut b, "format_string", &java_format(f.value(r), &vals)?)?;
            }
            Arc::new(b.finish())
        }
        Format => {
            let f = strings(&args[0])?;
            let mut b = StringBuilder::new();
            for r in 0..n {
                if f.is_null(r) {
                    b.append_null();
                    continue;
                }
                match brace_format(f.value(r), &args[1..], r)? {
                    Some(v) => super::append_checked(&mut b, "format", &v)?,
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        BitLength | OctetLength => {
            let m = if func == BitLength { 8 } else { 1 };
            Arc::new(
                binaries(&args[0])
                    .iter()
                    .map(|v| v.map(|v| v.len() as i32 * m))
                    .collect::<Int32Array>(),
            )
        }
        LuhnCheck => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.map(luhn))
                .collect::<BooleanArray>(),
        ),
        LikeEscape => {
            let (pat, esc) = (strings(&args[0])?, strings(&args[1])?);
            Arc::new(
                pat.iter()
                    .zip(esc.iter())
                    .map(|(p, e)| match (p, e) {
                        (Some(p), Some(e)) => like_escape(p, escape_char(e)?).map(Some),
                        _ => Ok(None),
                    })
                    .collect::<Result<StringArray>>()?,
            )
        }
        TrimChars | LTrimChars | RTrimChars => {
            let st = strings(&args[0])?;
            let chars = args.get(1).map(strings).transpose()?;
            let (lead, trail) = match func {
                TrimChars => (true, true),
                LTrimChars => (true, false),
                _ => (false, true),
            };
            str_result((0..n).map(|r| {
                if !valid(r) {
                    return None;
                }
                Some(trim_set(
                    st.value(r),
                    chars.map_or(" ", |c| c.value(r)),
                    lead,
                    trail,
                ))
            }))
        }
        Overlay => {
            let (st, rep, pos) = (strings(&args[0])?, strings(&args[1])?, ints(&args[2])?);
            let len = args.get(3).map(ints).transpose()?;
            str_result((0..n).map(|r| {
                if !valid(r) {
                    return None;
                }
                let s: Vec<char> = st.value(r).chars().collect();
                let rep = rep.value(r);
                let l = len.map_or(rep.chars().count() as i64, |l| i64::from(l.value(r)));
                let l = if l < 0 { rep.chars().count() as i64 } else { l };
                let start = (i64::from(pos.value(r)) - 1).clamp(0, s.len() as i64) as usize;
                let end = (start as i64 + l).clamp(start as i64, s.len() as i64) as usize;
                let mut out: String = s[..start].iter().collect();
                out.push_str(rep);
                out.extend(&s[end..]);
                Some(out)
            }))
        }
        Md5 => {
            use md5::Digest;
            str_result(
                binaries(&args[0])
                    .iter()
                    .map(|v| v.map(|v| hex::encode(md5::Md5::digest(v)))),
            )
        }
        Sha1 => {
            use sha1::Digest;
            str_result(
                binaries(&args[0])
                    .iter()
                    .map(|v| v.map(|v| hex::encode(sha1::Sha1::digest(v)))),
            )
        }
        Sha2 => {
            use sha2::Digest;
            let (bin, bits) = (binaries(&args[0]), ints(&args[1])?);
            str_result((0..n).map(|r| {
                if !valid(r) {
                    return None;
                }
                let v = bin.value(r);
                // Spark: 0 means 256; an unsupported length is NULL
                Some(match bits.value(r) {
                    224 => hex::encode(sha2::Sha224::digest(v)),
                    0 | 256 => hex::encode(sha2::Sha256::digest(v)),
                    384 => hex::encode(sha2::Sha384::digest(v)),
                    512 => hex::encode(sha2::Sha512::digest(v)),
                    _ => return None,
                })
            }))
        }
        XxHash64 => Arc::new(Int64Array::from_iter_values(
            hash_rows(args, n, XxHash64Seed(42))?
                .into_iter()
                .map(|h| h.0 as i64),
        )),
        Murmur3 => Arc::new(Int32Array::from_iter_values(
            hash_rows(args, n, Murmur3Seed(42))?
                .into_iter()
                .map(|h| h.0 as i32),
        )),
        Crc32 => Arc::new(
            binaries(&args[0])
                .iter()
                .map(|v| v.map(|v| i64::from(crc32fast::hash(v))))
                .collect::<Int64Array>(),
        ),
        Base64 => str_result(
            binaries(&args[0])
                .iter()
                .map(|v| v.map(|v| base64::engine::general_purpose::STANDARD.encode(v))),
        ),
        Unbase64 => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.and_then(spark_unbase64))
                .collect::<BinaryArray>(),
        ),
        Unhex => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.and_then(spark_unhex))
                .collect::<BinaryArray>(),
        ),
        Encode => {
            let (st, cs) = (strings(&args[0])?, strings(&args[1])?);
            let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
            for r in 0..n {
                if !valid(r) {
                    out.push(None);
                    continue;
                }
                out.push(Some(encode_charset(st.value(r), cs.value(r))?));
            }
            Arc::new(out.into_iter().collect::<BinaryArray>())
        }
        Decode => {
            let (bin, cs) = (binaries(&args[0]), strings(&args[1])?);
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                b.append_value(decode_charset(bin.value(r), cs.value(r))?);
            }
            Arc::new(b.finish())
        }
        ToBinary => {
            let st = strings(&args[0])?;
            let fmt = args.get(1).map(strings).transpose()?;
            let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
            for r in 0..n {
                if !valid(r) {
                    out.push(None);
                    continue;
                }
                let s = st.value(r);
                let f = fmt.map_or("hex".to_string(), |f| f.value(r).to_ascii_lowercase());
                let v = match f.as_str() {
                    "hex" => spark_unhex(s).ok_or_else(|| conversion_error(s, "hex"))?,
                    "utf-8" | "utf8" => s.as_bytes().to_vec(),
                    "base64" => spark_unbase64(s).ok_or_else(|| conversion_error(s, "base64"))?,
                    other => {
                        return Err(QuarryError::Analysis(format!(
                            "[INVALID_PARAMETER_VALUE.BINARY_FORMAT] The value of parameter(s) `format` in `to_binary` is invalid: expects one of binary formats 'base64', 'hex', 'utf-8', but got '{other}'."
                        )))
                    }
                };
                out.push(Some(v));
            }
            Arc::new(out.into_iter().collect::<BinaryArray>())
        }
        UrlEncode => {
            str_result(strings(&args[0])?.iter().map(|v| {
                v.map(|v| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
            }))
        }
        UrlDecode | TryUrlDecode => {
            let st = strings(&args[0])?;
            let mut b = StringBuilder::new();
            for v in st.iter() {
                match v.map(|v| (v, java_url_decode(v))) {
                    None => b.append_null(),
                    Some((_, Some(d))) => b.append_value(d),
                    Some((_, None)) if func == TryUrlDecode => b.append_null(),
                    Some((v, None)) => {
                        return Err(QuarryError::Execution(format!(
                            "[CANNOT_DECODE_URL] The provided URL cannot be decoded: {v}. Please ensure that the URL is properly formatted and try again."
                        )))
                    }
                }
            }
            Arc::new(b.finish())
        }
        Uuid => str_result((0..n).map(|_| Some(uuid::Uuid::new_v4().to_string()))),
        RaiseError => {
            if n > 0 {
                let m = strings(&args[0])?;
                let text = if m.is_null(0) { "null" } else { m.value(0) };
                return Err(QuarryError::Execution(format!(
                    "[USER_RAISED_EXCEPTION] {text}"
                )));
            }
            new_null_array(&DataType::Null, 0)
        }
    })
}

/// Java's `URLDecoder.decode(s, UTF-8)`, which Spark's `url_decode` calls: `+` is a
/// space, `%XX` a byte, the bytes read as UTF-8 (malformed ones as U+FFFD); every other
/// character stays (`&` and `=` included). `None` for a `%` without two hex digits.
fn java_url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = b.get(i + 1..i + 3)?;
                if !pair.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn conversion_error(s: &str, fmt: &str) -> QuarryError {
    QuarryError::Execution(format!(
        "[CONVERSION_INVALID_INPUT] The value '{s}' (STRING) cannot be converted to BINARY because it is malformed. Correct the value as per the syntax, or change its format. Use `try_to_binary` to tolerate malformed input and return NULL instead. (format '{fmt}')"
    ))
}

fn charset_error(cs: &str) -> QuarryError {
    QuarryError::Execution(format!(
        "[INVALID_PARAMETER_VALUE.CHARSET] The value of parameter(s) `charset` is invalid: expects one of the US-ASCII, ISO-8859-1, UTF-8, UTF-16BE, UTF-16LE, UTF-16, UTF-32, but got {cs}."
    ))
}

fn encode_charset(s: &str, cs: &str) -> Result<Vec<u8>> {
    Ok(match cs.to_ascii_uppercase().replace('_', "-").as_str() {
        "UTF-8" | "UTF8" => s.as_bytes().to_vec(),
        "US-ASCII" | "ASCII" => s
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect(),
        "ISO-8859-1" | "LATIN1" => s
            .chars()
            .map(|c| u8::try_from(c as u32).unwrap_or(b'?'))
            .collect(),
        "UTF-16BE" => s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
        "UTF-16LE" => s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect(),
        // Java writes a big-endian byte-order mark
        "UTF-16" => [0xFE, 0xFF]
            .into_iter()
            .chain(s.encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect(),
        "UTF-32" => s.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
        _ => return Err(charset_error(cs)),
    })
}

fn decode_charset(b: &[u8], cs: &str) -> Result<String> {
    let utf16 = |units: Vec<u16>| String::from_utf16_lossy(&units);
    Ok(match cs.to_ascii_uppercase().replace('_', "-").as_str() {
        "UTF-8" | "UTF8" => String::from_utf8_lossy(b).into_owned(),
        "US-ASCII" | "ASCII" => b
            .iter()
            .map(|&c| if c.is_ascii() { c as char } else { '\u{FFFD}' })
            .collect(),
        "ISO-8859-1" | "LATIN1" => b.iter().map(|&c| c as char).collect(),
        "UTF-16BE" => utf16(
            b.chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect(),
        ),
        "UTF-16LE" => utf16(
            b.chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect(),
        ),
        "UTF-16" => {
            let (le, body) = match b {
                [0xFF, 0xFE, rest @ ..] => (true, rest),
                [0xFE, 0xFF, rest @ ..] => (false, rest),
                _ => (false, b),
            };
            utf16(
                body.chunks_exact(2)
                    .map(|p| {
                        if le {
                            u16::from_le_bytes([p[0], p[1]])
                        } else {
                            u16::from_be_bytes([p[0], p[1]])
                        }
                    })
                    .collect(),
            )
        }
        "UTF-32" => b
            .chunks_exact(4)
            .map(|p| {
                char::from_u32(u32::from_be_bytes([p[0], p[1], p[2], p[3]])).unwrap_or('\u{FFFD}')
            })
            .collect(),
        _ => return Err(charset_error(cs)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements() {
        assert_eq!(java_replacement("$1a"), "${1}a");
        assert_eq!(java_replacement("\\$x"), "$$x");
        assert_eq!(java_replacement("${name}"), "${name}");
    }

    #[test]
    fn luhn_numbers() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("6011000000000005"));
        assert!(!luhn(""));
        assert!(!luhn(" 4111111111111111"));
        assert!(luhn("0"));
    }

    #[test]
    fn soundex_codes() {
        assert_eq!(soundex("Miller"), "M460");
        assert_eq!(soundex("Robert"), "R163");
        assert_eq!(soundex("Tymczak"), "T522");
        assert_eq!(soundex("Ashcraft"), "A261");
        assert_eq!(soundex("1abc"), "1abc");
    }

    #[test]
    fn substring_index_both_ways() {
        assert_eq!(substring_index("www.apache.org", ".", 2), "www.apache");
        assert_eq!(substring_index("www.apache.org", ".", -2), "apache.org");
        assert_eq!(substring_index("www.apache.org", ".", 5), "www.apache.org");
        assert_eq!(substring_index("www.apache.org", "", 1), "");
    }

    #[test]
    fn number_formats() {
        assert_eq!(
            format_number(12332.123456, 4).as_deref(),
            Some("12,332.1235")
        );
        assert_eq!(format_number(-1234567.0, 0).as_deref(), Some("-1,234,567"));
        assert_eq!(format_number(0.5, -1), None);
    }

    #[test]
    fn java_formats() {
        let f = |fmt: &str, a: Vec<FmtArg>| java_format(fmt, &a).unwrap_or_else(|e| e.to_string());
        assert_eq!(
            f("Hello %s", vec![FmtArg::Text("World".into())]),
            "Hello World"
        );
        assert_eq!(f("Hello %%%%", vec![]), "Hello %%");
        assert_eq!(f("Hello %x", vec![FmtArg::Int(20)]), "Hello 14");
        assert_eq!(
            f(
                "%1$s %3$s",
                vec![FmtArg::Int(1), FmtArg::Int(2), FmtArg::Int(3)]
            ),
            "1 3"
        );
        assert_eq!(
            f(
                "%05d|%-4s|%.2f",
                vec![
                    FmtArg::Int(42),
                    FmtArg::Text("a".into()),
                    FmtArg::Float(3.14159)
                ]
            ),
            "00042|a   |3.14"
        );
        assert!(java_format("Hello %s %s", &[FmtArg::Text("x".into())]).is_err());
    }
}

/// One of Spark's row hash functions (HashExpression): how it hashes an int, a long
/// and bytes with the running hash as the seed. Implemented by [`XxHash64Seed`]
/// (`xxhash64`) and [`Murmur3Seed`] (`hash`).
pub trait SparkHasher: Copy {
    /// The expression's name, for errors.
    const NAME: &'static str;
    fn int(self, v: i32) -> Self;
    fn long(self, v: i64) -> Self;
    fn bytes(self, b: &[u8]) -> Self;
}

/// XXH64 with the running hash as the seed (Spark's XxHash64Function).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XxHash64Seed(pub u64);

impl SparkHasher for XxHash64Seed {
    const NAME: &'static str = "xxhash64";
    fn int(self, v: i32) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    fn long(self, v: i64) -> Self {
        self.bytes(&v.to_le_bytes())
    }
    fn bytes(self, b: &[u8]) -> Self {
        XxHash64Seed(twox_hash::XxHash64::oneshot(self.0, b))
    }
}

/// Murmur3 x86 32-bit with the running hash as the seed, as Spark's Murmur3_x86_32:
/// ints and longs as 4 and 8 little-endian bytes; bytes (`hashUnsafeBytes`) by 4-byte
/// little-endian words, then each trailing byte, sign-extended, mixed as a word of its
/// own (Spark's legacy tail, which standard Murmur3 does not do), finished with the
/// total length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Murmur3Seed(pub u32);

impl Murmur3Seed {
    fn mix_k1(k1: u32) -> u32 {
        k1.wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593)
    }
    fn mix_h1(h1: u32, k1: u32) -> u32 {
        (h1 ^ k1)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64)
    }
    fn fmix(h1: u32, len: u32) -> u32 {
        let mut h = h1 ^ len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^ (h >> 16)
    }
}

impl SparkHasher for Murmur3Seed {
    const NAME: &'static str = "hash";
    fn int(self, v: i32) -> Self {
        let h = Self::mix_h1(self.0, Self::mix_k1(v as u32));
        Murmur3Seed(Self::fmix(h, 4))
    }
    fn long(self, v: i64) -> Self {
        let h = Self::mix_h1(self.0, Self::mix_k1(v as u32));
        let h = Self::mix_h1(h, Self::mix_k1((v >> 32) as u32));
        Murmur3Seed(Self::fmix(h, 8))
    }
    fn bytes(self, b: &[u8]) -> Self {
        let mut h = self.0;
        let words = b.chunks_exact(4);
        let tail = words.remainder();
        for w in words {
            h = Self::mix_h1(
                h,
                Self::mix_k1(u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            );
        }
        for &t in tail {
            h = Self::mix_h1(h, Self::mix_k1(t as i8 as i32 as u32));
        }
        Murmur3Seed(Self::fmix(h, b.len() as u32))
    }
}

/// Whether a type is or holds a map (in an array or struct).
fn has_map(t: &DataType) -> bool {
    match t {
        DataType::Map(..) => true,
        DataType::List(f) | DataType::LargeList(f) => has_map(f.data_type()),
        DataType::Struct(fs) => fs.iter().any(|f| has_map(f.data_type())),
        _ => false,
    }
}

/// Each of `n` rows' hash over all `args` in turn, from `seed` (Spark's HashExpression:
/// every argument's hash seeds the next).
fn hash_rows<H: SparkHasher>(args: &[ArrayRef], n: usize, seed: H) -> Result<Vec<H>> {
    let mut seeds = vec![seed; n];
    for a in args {
        for (r, seed) in seeds.iter_mut().enumerate() {
            *seed = spark_hash(a.as_ref(), r, *seed)?;
        }
    }
    Ok(seeds)
}

/// The hash of row `i` of `a` with `seed`, as Spark's hash expressions
/// (HashExpression.computeHash): NULL returns the seed; booleans, bytes, shorts, ints
/// and dates hash as a 4-byte int (true = 1); longs and timestamps as 8 bytes; floats
/// and doubles by their bits with -0.0 as 0.0 (NaN canonical); decimals of up to 18
/// digits by their unscaled long, wider ones by the unscaled value's big-endian
/// two's-complement bytes (Java's BigInteger.toByteArray); strings and binaries by
/// their bytes; arrays, structs and maps element by element (map: key, then value),
/// each hash seeding the next.
pub fn spark_hash<H: SparkHasher>(a: &dyn Array, i: usize, seed: H) -> Result<H> {
    if a.is_null(i) {
        return Ok(seed);
    }
    let int = |v: i32| seed.int(v);
    let long = |v: i64| seed.long(v);
    Ok(match a.data_type() {
        DataType::Null => seed,
        DataType::Boolean => int(a.as_boolean().value(i) as i32),
        DataType::Int8 => int(a.as_primitive::<Int8Type>().value(i) as i32),
        DataType::Int16 => int(a.as_primitive::<Int16Type>().value(i) as i32),
        DataType::Int32 => int(a.as_primitive::<Int32Type>().value(i)),
        DataType::Date32 => int(a.as_primitive::<Date32Type>().value(i)),
        DataType::UInt8 => int(a.as_primitive::<UInt8Type>().value(i) as i32),
        DataType::UInt16 => int(a.as_primitive::<UInt16Type>().value(i) as i32),
        DataType::UInt32 => long(a.as_primitive::<UInt32Type>().value(i) as i64),
        DataType::UInt64 => long(a.as_primitive::<UInt64Type>().value(i) as i64),
        DataType::Int64 => long(a.as_primitive::<Int64Type>().value(i)),
        DataType::Date64 => long(a.as_primitive::<Date64Type>().value(i)),
        DataType::Timestamp(_, _) => {
            let t = arrow::compute::cast(&a.slice(i, 1), &crate::types::TIMESTAMP)?;
            long(t.as_primitive::<TimestampMicrosecondType>().value(0))
        }
        DataType::Float32 => {
            let f = a.as_primitive::<Float32Type>().value(i);
            let f = if f == 0.0 {
                0.0f32
            } else if f.is_nan() {
                f32::NAN
            } else {
                f
            };
            int(f.to_bits() as i32)
        }
        DataType::Float64 => {
            let f = a.as_primitive::<Float64Type>().value(i);
            let f = if f == 0.0 {
                0.0f64
            } else if f.is_nan() {
                f64::NAN
            } else {
                f
            };
            long(f.to_bits() as i64)
        }
        DataType::Decimal128(p, _) => {
            let v = a.as_primitive::<Decimal128Type>().value(i);
            if *p <= 18 {
                long(v as i64)
            } else {
                // BigInteger.toByteArray: the fewest big-endian bytes that keep the sign
                let bytes = v.to_be_bytes();
                let fill = if v < 0 { 0xff } else { 0 };
                let mut k = 0;
                while k < 15 && bytes[k] == fill && (bytes[k + 1] & 0x80 == fill & 0x80) {
                    k += 1;
                }
                seed.bytes(&bytes[k..])
            }
        }
        DataType::Utf8 => seed.bytes(a.as_string::<i32>().value(i).as_bytes()),
        DataType::LargeUtf8 => seed.bytes(a.as_string::<i64>().value(i).as_bytes()),
        DataType::Binary => seed.bytes(a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => seed.bytes(a.as_binary::<i64>().value(i)),
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let (s, e) = (
                l.value_offsets()[i] as usize,
                l.value_offsets()[i + 1] as usize,
            );
            let mut h = seed;
            for j in s..e {
                h = spark_hash(l.values().as_ref(), j, h)?;
            }
            h
        }
        DataType::Struct(_) => {
            let st = a.as_struct();
            let mut h = seed;
            for c in st.columns() {
                h = spark_hash(c.as_ref(), i, h)?;
            }
            h
        }
        DataType::Map(_, _) => {
            let m = a.as_map();
            let (s, e) = (
                m.value_offsets()[i] as usize,
                m.value_offsets()[i + 1] as usize,
            );
            let mut h = seed;
            for j in s..e {
                h = spark_hash(m.keys().as_ref(), j, h)?;
                h = spark_hash(m.values().as_ref(), j, h)?;
            }
            h
        }
        t => {
            return Err(QuarryError::NotSupported(format!(
                "{} of {}",
                H::NAME,
                crate::types::type_name(t)
            )))
        }
    })
}

/// The escape character of `LIKE ... ESCAPE e`: `Some(c)` for one character, `None`
/// for `''` (no escape character, as DuckDB's). Errors: `INVALID_ESCAPE_CHAR` for a
/// longer string (Spark's and DuckDB's rule).
pub fn escape_char(e: &str) -> Result<Option<char>> {
    let mut chars = e.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(None),
        (Some(c), None) => Ok(Some(c)),
        _ => Err(QuarryError::Analysis(format!(
            "[INVALID_ESCAPE_CHAR] the escape character of LIKE must be one character, got '{e}'"
        ))),
    }
}

/// A LIKE pattern with escape character `esc` (`LIKE 'a!%' ESCAPE '!'`) as the same
/// pattern escaped with `\` (Spark's default escape, which arrow's LIKE reads); `None`:
/// no escape character, so every `\` is literal. As Spark's
/// `StringUtils.escapeLikeRegex`, the escape may only precede `_`, `%` or itself, and
/// may not end the pattern.
pub fn like_escape(pattern: &str, esc: Option<char>) -> Result<String> {
    let esc = match esc {
        Some('\\') => return Ok(pattern.to_string()),
        Some(c) => c,
        None => return Ok(pattern.replace('\\', "\\\\")),
    };
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if c == esc {
            match it.next() {
                Some(n @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) if n == esc => out.push(n),
                Some(n) => {
                    return Err(QuarryError::Execution(format!(
                        "[INVALID_FORMAT.ESC_IN_THE_MIDDLE] the pattern '{pattern}' is invalid: the escape character is not allowed to precede '{n}'"
                    )))
                }
                None => {
                    return Err(QuarryError::Execution(format!(
                        "[INVALID_FORMAT.ESC_AT_THE_END] the pattern '{pattern}' is invalid: it is not allowed to end with the escape character"
                    )))
                }
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A byte count written as a number and a unit (`'1.5 KiB'`, `'5MB'`, `'2 bytes'`), as
/// DuckDB's memory settings read it: the unit is B/byte/bytes, KB/MB/GB/TB/PB (powers
/// of 1000) or KiB/MiB/GiB/TiB/PiB (powers of 1024), any case, spaces allowed.
///
/// Errors: no number, an unknown unit, a malformed number, or a value beyond the
/// bigint range.
pub fn parse_formatted_bytes(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .unwrap_or(t.len());
    // an exponent letter only counts inside a number that starts with a digit
    let (num, unit) = t.split_at(split);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(exec(
            "parse_formatted_bytes",
            format!("the memory size '{text}' must have a number (e.g. 1GB)"),
        ));
    }
    let value: f64 = num.parse().map_err(|_| {
        exec(
            "parse_formatted_bytes",
            format!("invalid number '{num}' in the memory size '{text}'"),
        )
    })?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: f64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "pb" => 1e15,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        "pib" => 1024f64.powi(5),
        _ => {
            return Err(exec(
                "parse_formatted_bytes",
                format!("unknown unit '{unit}' in the memory size '{text}' (expected: KB, MB, GB, TB for 1000^i units or KiB, MiB, GiB, TiB for 1024^i units)"),
            ))
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || !(0.0..9.2e18).contains(&bytes) {
        return Err(exec(
            "parse_formatted_bytes",
            format!("the memory size '{text}' is out of range"),
        ));
    }
    Ok(bytes as i64)
}
