//! Hive-style partition paths: `key=value` folder names, escaping, hidden files.
//!
//! Escaping follows Hive's `FileUtils.escapePathName` / Spark's
//! `ExternalCatalogUtils.escapePathName` on Unix: the characters
//! `"#%'*/:=?\{[]^` plus DEL and control characters become `%XX` (upper-case hex);
//! space is kept. `__HIVE_DEFAULT_PARTITION__` stands for NULL (and the empty string).

/// The folder value that stands for a NULL partition value.
pub const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '"' | '#'
            | '%'
            | '\''
            | '*'
            | '/'
            | ':'
            | '='
            | '?'
            | '\\'
            | '\x7f'
            | '{'
            | '['
            | ']'
            | '^'
    ) || ('\x01'..='\x1f').contains(&c)
}

/// Escape a partition value for use in a path; `None` (NULL) or "" becomes the default partition name.
pub fn escape_path_name(value: Option<&str>) -> String {
    match value {
        None | Some("") => HIVE_DEFAULT_PARTITION.to_string(),
        Some(v) => {
            let mut out = String::with_capacity(v.len());
            for c in v.chars() {
                if needs_escape(c) {
                    out.push_str(&format!("%{:02X}", c as u32));
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// Decode `%XX` escapes (Hive's `unescapePathName`); a malformed escape is kept as is.
pub fn unescape_path_name(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = [bytes[i + 1], bytes[i + 2]];
            let v = std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = v {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse one folder name `key=value` into `(key, Some(value))`, or `(key, None)` for the
/// default partition. Returns `None` when the name is not of that form.
pub fn parse_partition_folder(name: &str) -> Option<(String, Option<String>)> {
    let (k, v) = name.split_once('=')?;
    if k.is_empty() {
        return None;
    }
    let key = unescape_path_name(k);
    if v == HIVE_DEFAULT_PARTITION {
        Some((key, None))
    } else {
        Some((key, Some(unescape_path_name(v))))
    }
}

/// A file or folder name that readers skip: names starting with `_` or `.`
/// (`_SUCCESS`, `_temporary`, `.part-0.crc`), and `*.crc` checksum files.
/// Partition folders (`key=value`) never count as hidden, even if the key starts with `_`.
pub fn is_hidden(name: &str) -> bool {
    if name.contains('=') && !name.starts_with('.') {
        return false;
    }
    name.starts_with('_') || name.starts_with('.') || name.ends_with(".crc")
}

/// The relative path of a partition: `k1=v1/k2=v2` with escaped values.
pub fn partition_path(keys: &[String], values: &[Option<String>]) -> String {
    keys.iter()
        .zip(values)
        .map(|(k, v)| {
            format!(
                "{}={}",
                escape_path_name(Some(k)),
                escape_path_name(v.as_deref())
            )
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn escape_roundtrip() {
        assert_eq!(
            escape_path_name(Some("America/New_York")),
            "America%2FNew_York"
        );
        assert_eq!(
            escape_path_name(Some("AIRBUS INDUSTRIE")),
            "AIRBUS INDUSTRIE"
        );
        assert_eq!(escape_path_name(None), HIVE_DEFAULT_PARTITION);
        assert_eq!(unescape_path_name("America%2FNew_York"), "America/New_York");
        assert_eq!(unescape_path_name("100%"), "100%");
        assert_eq!(unescape_path_name("a%2"), "a%2");
        assert_eq!(
            parse_partition_folder("tzone=__HIVE_DEFAULT_PARTITION__"),
            Some(("tzone".into(), None))
        );
        assert_eq!(
            parse_partition_folder("dt=2021-10-05"),
            Some(("dt".into(), Some("2021-10-05".into())))
        );
        assert_eq!(parse_partition_folder("part-0.parquet"), None);
    }
    #[test]
    fn hidden() {
        assert!(is_hidden("_SUCCESS"));
        assert!(is_hidden("_temporary"));
        assert!(is_hidden(".part-0.parquet.crc"));
        assert!(!is_hidden("part-0.parquet"));
        assert!(!is_hidden("year=2013"));
    }
}
