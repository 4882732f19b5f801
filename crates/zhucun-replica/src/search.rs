//! Full-text search that finds two-character Chinese words.
//!
//! SQLite's tokenizers do not segment Chinese, and its trigram tokenizer cannot match words
//! shorter than three characters, yet most Chinese words people search for (党课, 走访, 党员)
//! have two. So runs of CJK characters are indexed as overlapping bigrams (党课学习 → 党课
//! 课学 学习) in the `body` column and as single characters in the `uni` column; other text
//! goes to `body` as it is for the unicode61 tokenizer. A query of two or more CJK characters
//! becomes a phrase of its bigrams (which matches exactly where the characters are adjacent),
//! one CJK character a match on `uni`, anything else a prefix match on words.

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF
        | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// CJK punctuation and full-width forms that separate words.
fn is_cjk_separator(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

enum Run {
    Cjk(Vec<char>),
    Other(String),
}

fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut other = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !other.is_empty() {
                out.push(Run::Other(std::mem::take(&mut other)));
            }
            cjk.push(c);
        } else {
            if !cjk.is_empty() {
                out.push(Run::Cjk(std::mem::take(&mut cjk)));
            }
            other.push(if is_cjk_separator(c) { ' ' } else { c });
        }
    }
    if !cjk.is_empty() {
        out.push(Run::Cjk(cjk));
    }
    if !other.is_empty() {
        out.push(Run::Other(other));
    }
    out
}

fn bigrams(chars: &[char]) -> String {
    if chars.len() == 1 {
        return chars[0].to_string();
    }
    chars
        .windows(2)
        .map(|w| w.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `(body, uni)` columns to index for `text`.
pub fn index_columns(text: &str) -> (String, String) {
    let mut body = String::with_capacity(text.len() * 2);
    let mut uni = String::new();
    for r in runs(text) {
        match r {
            Run::Cjk(chars) => {
                body.push_str(&bigrams(&chars));
                for c in &chars {
                    uni.push(*c);
                    uni.push(' ');
                }
            }
            Run::Other(s) => body.push_str(&s),
        }
        body.push(' ');
    }
    (body, uni)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The FTS5 MATCH expression for what a person typed, or `None` when nothing searchable is left.
pub fn match_expression(query: &str) -> Option<String> {
    let mut parts = Vec::new();
    for r in runs(query) {
        match r {
            Run::Cjk(chars) if chars.len() == 1 => {
                parts.push(format!("uni : {}", quote(&chars[0].to_string())))
            }
            Run::Cjk(chars) => parts.push(format!("body : {}", quote(&bigrams(&chars)))),
            Run::Other(s) => {
                for w in s.split_whitespace() {
                    let w: String = w
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '-' || *c == '\'')
                        .collect();
                    if w.chars().any(char::is_alphanumeric) {
                        parts.push(format!("body : {}*", quote(&w)));
                    }
                }
            }
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_bigrams_and_unigrams() {
        let (body, uni) = index_columns("开展党课，学习 Party lecture");
        assert_eq!(
            body.split_whitespace().collect::<Vec<_>>(),
            ["开展", "展党", "党课", "学习", "Party", "lecture"]
        );
        assert_eq!(uni.split_whitespace().count(), 6);
    }

    #[test]
    fn queries() {
        assert_eq!(match_expression("党课").unwrap(), "body : \"党课\"");
        assert_eq!(
            match_expression("党课学习").unwrap(),
            "body : \"党课 课学 学习\""
        );
        assert_eq!(match_expression("党").unwrap(), "uni : \"党\"");
        assert_eq!(
            match_expression("lect 党课").unwrap(),
            "body : \"lect\"* AND body : \"党课\""
        );
        assert_eq!(match_expression("\"*()"), None);
        assert_eq!(match_expression("a\"b").unwrap(), "body : \"ab\"*");
    }
}
