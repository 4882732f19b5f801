//! Inspections and evaluations 检查评议: the township's quarterly inspection 季检查, the
//! annual mutual evaluation 年互评, special and joint supervision, with findings and scores.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::values::{opt_date, parse_month, required};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum InspectionKind {
    /// 季度检查
    #[default]
    #[serde(alias = "季度检查")]
    QuarterlyInspection,
    /// 年度互评
    #[serde(alias = "年度互评")]
    AnnualEvaluation,
    /// 专项检查
    #[serde(alias = "专项检查")]
    SpecialInspection,
    /// 联合督导
    #[serde(alias = "联合督导")]
    JointSupervision,
    /// 述职评议
    #[serde(alias = "述职评议")]
    Debriefing,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Severity {
    #[default]
    Minor,
    Major,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Rating {
    #[serde(alias = "好")]
    Excellent,
    #[serde(alias = "较好")]
    Good,
    #[serde(alias = "一般")]
    Fair,
    #[serde(alias = "差")]
    Poor,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Finding {
    pub text: String,
    pub severity: Severity,
    /// Date the finding was put right 整改.
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub rectified_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Score {
    pub item: String,
    pub score: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Inspection {
    pub inspection_kind: InspectionKind,
    /// `2026-Q2` for a quarter, `2026` for a year, `2026-05` for a month.
    pub period: String,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub date: Option<NaiveDate>,
    /// Who inspected (unit or person).
    pub inspector: String,
    pub findings: Vec<Finding>,
    pub scores: Vec<Score>,
    pub rating: Option<Rating>,
    pub summary: String,
}

impl Inspection {
    pub fn total(&self) -> (u32, u32) {
        self.scores
            .iter()
            .fold((0, 0), |(s, m), x| (s + x.score, m + x.max))
    }
}

fn period_ok(kind: InspectionKind, p: &str) -> bool {
    let year_ok =
        |y: &str| y.len() == 4 && y.parse::<u32>().is_ok_and(|y| (1900..=2200).contains(&y));
    match kind {
        InspectionKind::QuarterlyInspection => p
            .split_once("-Q")
            .is_some_and(|(y, q)| year_ok(y) && matches!(q, "1" | "2" | "3" | "4")),
        InspectionKind::AnnualEvaluation | InspectionKind::Debriefing => year_ok(p),
        _ => {
            year_ok(p)
                || parse_month(p).is_some()
                || p.split_once("-Q")
                    .is_some_and(|(y, q)| year_ok(y) && matches!(q, "1" | "2" | "3" | "4"))
        }
    }
}

impl RecordBody for Inspection {
    const KIND: Kind = Kind::Inspection;

    fn validate(&self, _previous: Option<&Self>) -> Result<(), InvalidField> {
        required("period", &self.period)?;
        if !period_ok(self.inspection_kind, self.period.trim()) {
            return Err(InvalidField::new(
                "period",
                Reason::Format(match self.inspection_kind {
                    InspectionKind::QuarterlyInspection => {
                        "must be a quarter such as 2026-Q2".into()
                    }
                    InspectionKind::AnnualEvaluation | InspectionKind::Debriefing => {
                        "must be a year such as 2026".into()
                    }
                    _ => "must be a year, a quarter (2026-Q2) or a month (2026-05)".into(),
                }),
            ));
        }
        required("inspector", &self.inspector)?;
        if self.date.is_none() {
            return Err(InvalidField::new("date", Reason::Required));
        }
        for (i, f) in self.findings.iter().enumerate() {
            required(&format!("findings[{i}].text"), &f.text)?;
        }
        for (i, s) in self.scores.iter().enumerate() {
            required(&format!("scores[{i}].item"), &s.item)?;
            if s.score > s.max {
                return Err(InvalidField::new(
                    format!("scores[{i}].score"),
                    Reason::OutOfRange {
                        min: 0,
                        max: i64::from(s.max),
                    },
                ));
            }
        }
        Ok(())
    }

    fn facts(&self) -> Facts {
        let (score, max) = self.total();
        let mut search = vec![
            self.period.clone(),
            self.inspector.clone(),
            self.summary.clone(),
        ];
        search.extend(self.findings.iter().map(|f| f.text.clone()));
        Facts {
            title: format!("{} {}", self.period, self.inspector),
            date: self.date,
            sub_kind: Some(enum_name(&self.inspection_kind)),
            status: self.rating.map(|r| enum_name(&r)),
            reaches: Vec::new(),
            search_text: search.join("\n"),
            detail: serde_json::to_value(crate::figures::InspectionFacts {
                period: self.period.clone(),
                score,
                max,
                findings: self.findings.len() as u32,
                open_findings: self
                    .findings
                    .iter()
                    .filter(|f| f.rectified_on.is_none())
                    .count() as u32,
            })
            .unwrap_or_default(),
        }
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "inspection_kind" => "检查类型",
            "period" => "期间",
            "date" => "检查日期",
            "inspector" => "检查单位",
            "findings" => "发现问题",
            "scores" => "评分",
            "rating" => "等次",
            "summary" => "检查意见",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_cannot_exceed_their_maximum_and_periods_match_the_kind() {
        let mut i = Inspection {
            period: "2026-Q2".into(),
            inspector: "城关镇党委".into(),
            date: NaiveDate::from_ymd_opt(2026, 6, 30),
            scores: vec![Score {
                item: "三会一课".into(),
                score: 18,
                max: 20,
            }],
            ..Default::default()
        };
        assert!(i.validate(None).is_ok());
        assert_eq!(i.total(), (18, 20));
        i.scores[0].score = 21;
        assert_eq!(i.validate(None).unwrap_err().field, "scores[0].score");
        i.scores[0].score = 1;
        i.period = "2026".into();
        assert_eq!(i.validate(None).unwrap_err().field, "period");
        i.inspection_kind = InspectionKind::AnnualEvaluation;
        assert!(i.validate(None).is_ok());
    }
}
