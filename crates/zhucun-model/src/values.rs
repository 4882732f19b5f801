//! Small value types shared by the record kinds: dates, money, attachments.

use std::fmt;

use chrono::NaiveDate;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{InvalidField, Reason};

/// Parse a calendar date as people write it: `2026-05-01`, `2026/5/1`, `2026.5.1`,
/// `2026年5月1日`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let norm: String = t
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            '日' => ' ',
            c => c,
        })
        .collect();
    let norm = norm.trim();
    let mut parts = norm.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// Serde for `Option<NaiveDate>` fields: written `YYYY-MM-DD`, read leniently; an empty
/// string reads as no date.
pub mod opt_date {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&d.format("%Y-%m-%d").to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        match v {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_date(&s)
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("`{s}` is not a date (use YYYY-MM-DD)"))),
        }
    }
}

/// Amounts with fen are written as a JSON float of yuan, which keeps 15 significant digits
/// exactly: beyond that (10 trillion yuan) only whole yuan are accepted.
const MAX_FEN_WITH_CENTS: i64 = 1_000_000_000_000_000;

/// An amount of money in fen (0.01 yuan), written in JSON as yuan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, type = "number"))]
pub struct Money(pub i64);

impl Money {
    pub fn from_yuan(y: i64) -> Money {
        Money(y * 100)
    }
    pub fn fen(self) -> i64 {
        self.0
    }
    pub fn check(self, field: &str) -> Result<(), InvalidField> {
        if self.0 < 0 {
            Err(InvalidField::new(field, Reason::Negative))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        if a.is_multiple_of(100) {
            write!(f, "{sign}{}", a / 100)
        } else {
            write!(f, "{sign}{}.{:02}", a / 100, a % 100)
        }
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            s.serialize_i64(self.0 / 100)
        } else {
            s.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

fn money_from_str(s: &str) -> Option<Money> {
    let t = s.trim().trim_end_matches('元').replace([',', '，'], "");
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, t),
    };
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (t.clone(), String::new()),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 {
        return None;
    }
    let i: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let f: i64 = format!("{frac:0<2}").parse().ok()?;
    let fen = i.checked_mul(100)?.checked_add(f)?;
    if f != 0 && fen >= MAX_FEN_WITH_CENTS {
        return None;
    }
    Some(Money(if neg { -fen } else { fen }))
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount in yuan with at most two decimals")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
                v.checked_mul(100)
                    .map(Money)
                    .ok_or_else(|| E::custom("amount too large"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(|v| v.checked_mul(100))
                    .map(Money)
                    .ok_or_else(|| E::custom("amount too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
                if !v.is_finite() {
                    return Err(E::custom("amount is not a finite number"));
                }
                if v.abs() > 1e15 {
                    return Err(E::custom("amount too large"));
                }
                // The shortest decimal that reads back as `v` is the one that was written
                // (`v * 100` rounded drifts by more than any fixed tolerance for large
                // amounts, so a record written with 5,101,866,210,622.60 yuan did not read back).
                money_from_str(&v.to_string())
                    .ok_or_else(|| E::custom("amount has more than two decimals or is too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                if v.trim().is_empty() {
                    return Ok(Money(0));
                }
                money_from_str(v)
                    .ok_or_else(|| E::custom(format!("`{v}` is not an amount in yuan")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A file attached to a record, referenced by the SHA-256 of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Attachment {
    /// Lower-case hex SHA-256 of the content.
    pub hash: String,
    pub name: String,
    pub mime: String,
    /// Size in bytes.
    // serde_json writes a u64 as a plain number; ts-rs would say `bigint`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
}

/// The blob references of a record's `attachments` list: each entry's field path and hash.
pub fn attachment_refs(attachments: &[Attachment]) -> Vec<(String, String)> {
    attachments
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("attachments[{i}].hash"), a.hash.clone()))
        .collect()
}

/// The longest name an attached file keeps, in characters.
pub const MAX_FILE_NAME: usize = 200;

/// An attached file's name (`field` names it): required, at most [`MAX_FILE_NAME`] characters.
pub fn check_file_name(field: &str, name: &str) -> Result<(), InvalidField> {
    required(field, name)?;
    max_len(field, name, MAX_FILE_NAME)
}

/// What [`check_hash`] accepts, as a regular expression (ECMA-262, for the OpenAPI document).
pub const HASH_PATTERN: &str = "^[0-9a-f]{64}$";

pub fn check_hash(field: &str, h: &str) -> Result<(), InvalidField> {
    if h.len() == 64
        && h.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            Reason::Format("must be a lower-case hex SHA-256 (64 characters)".into()),
        ))
    }
}

pub fn required(field: &str, s: &str) -> Result<(), InvalidField> {
    if s.trim().is_empty() {
        Err(InvalidField::new(field, Reason::Required))
    } else {
        Ok(())
    }
}

pub fn max_len(field: &str, s: &str, max: usize) -> Result<(), InvalidField> {
    if s.chars().count() > max {
        Err(InvalidField::new(
            field,
            Reason::Format(format!("is longer than {max} characters")),
        ))
    } else {
        Ok(())
    }
}

/// A month written `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let y: i32 = y.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if (1..=12).contains(&m) && (1900..=2200).contains(&y) {
        Some((y, m))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 1);
        assert_eq!(parse_date("2026-05-01"), d);
        assert_eq!(parse_date("2026/5/1"), d);
        assert_eq!(parse_date("2026年5月1日"), d);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("May 1"), None);
    }

    #[test]
    fn money_reads_yuan_and_keeps_fen() {
        let m: Money = serde_json::from_str("20000.5").unwrap();
        assert_eq!(m, Money(2_000_050));
        assert_eq!(serde_json::to_string(&m).unwrap(), "20000.5");
        let m: Money = serde_json::from_str("\"1,200.05元\"").unwrap();
        assert_eq!(m.fen(), 120_005);
        assert_eq!(m.to_string(), "1200.05");
        assert!(serde_json::from_str::<Money>("1.005").is_err());
        assert!(serde_json::from_str::<Money>("\"abc\"").is_err());
        assert_eq!(serde_json::to_string(&Money(300)).unwrap(), "3");
    }

    #[test]
    fn money_written_reads_back_the_same() {
        // Large amounts with fen were written as a float that did not read back ("more than
        // two decimals"), so a record saved from valid input could not be read again (found
        // while writing the round-trip check of the fuzz target `hydrate_record`).
        for fen in [
            1i64,
            -1,
            2_000_050,
            5_000_000_001,
            99_999_999_999_999,
            123_456_789_012_345,
            -98_765_432_109_876,
        ] {
            let m = Money(fen);
            let json = serde_json::to_string(&m).unwrap();
            let back: Money = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{fen} written as {json}: {e}"));
            assert_eq!(back, m, "{json}");
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let fen = (x % 1_000_000_000_000_000) as i64;
            let json = serde_json::to_string(&Money(fen)).unwrap();
            let back: Result<Money, _> = serde_json::from_str(&json);
            assert_eq!(back.ok(), Some(Money(fen)), "{json}");
            // Whole yuan of any size are written as integers.
            let whole = Money((x % (i64::MAX as u64 / 100)) as i64 * 100);
            let json = serde_json::to_string(&whole).unwrap();
            assert_eq!(
                serde_json::from_str::<Money>(&json).ok(),
                Some(whole),
                "{json}"
            );
        }
        // Beyond 15 digits an amount with fen is refused rather than silently rounded.
        assert!(serde_json::from_str::<Money>("\"10000000000000.01\"").is_err());
        assert!(serde_json::from_str::<Money>("604021021238429.9").is_err());
        assert_eq!(
            serde_json::from_str::<Money>("\"9999999999999.99\"").ok(),
            Some(Money(999_999_999_999_999))
        );
    }

    #[test]
    fn months() {
        assert_eq!(parse_month("2026-05"), Some((2026, 5)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("26-05"), None);
    }
}
