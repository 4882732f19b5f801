//! Monthly reports 月报告: village + month, figures computed from the month's records, a
//! narrative, and the review states draft → submitted → returned / accepted.

use serde::{Deserialize, Serialize};

use super::{enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::figures::MonthlyFigures;
use crate::values::{max_len, parse_month};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ReportState {
    #[default]
    #[serde(alias = "草稿")]
    Draft,
    #[serde(alias = "已提交")]
    Submitted,
    #[serde(alias = "已退回")]
    Returned,
    #[serde(alias = "已通过")]
    Accepted,
}

impl ReportState {
    /// Whether a report may move from `self` to `to`.
    pub fn may_become(self, to: ReportState) -> bool {
        use ReportState::*;
        self == to
            || matches!(
                (self, to),
                (Draft, Submitted)
                    | (Submitted, Returned)
                    | (Submitted, Accepted)
                    | (Returned, Submitted)
            )
    }

    /// Figures follow the records while the village can still change the report.
    pub fn figures_follow_records(self) -> bool {
        matches!(self, ReportState::Draft | ReportState::Returned)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    pub state: ReportState,
    /// Computed from the month's records when saved as a draft; frozen once submitted.
    pub figures: Option<MonthlyFigures>,
    pub narrative: String,
    /// The township's comment when returning or accepting.
    pub review_comment: String,
    pub reviewed_by: String,
}

impl RecordBody for MonthlyReport {
    const KIND: Kind = Kind::Report;

    fn validate(&self, previous: Option<&Self>) -> Result<(), InvalidField> {
        if parse_month(&self.month).is_none() {
            return Err(InvalidField::new(
                "month",
                if self.month.trim().is_empty() {
                    Reason::Required
                } else {
                    Reason::Format("must be YYYY-MM".into())
                },
            ));
        }
        max_len("narrative", &self.narrative, 50_000)?;
        let from = previous.map(|p| p.state).unwrap_or_default();
        if !from.may_become(self.state) {
            return Err(InvalidField::new(
                "state",
                Reason::Transition {
                    from: enum_name(&from),
                    to: enum_name(&self.state),
                },
            ));
        }
        if let Some(p) = previous {
            if p.month != self.month {
                return Err(InvalidField::new("month", Reason::Immutable));
            }
        }
        if self.state == ReportState::Returned && self.review_comment.trim().is_empty() {
            return Err(InvalidField::new("review_comment", Reason::Required));
        }
        if self.state == ReportState::Submitted && self.narrative.trim().is_empty() {
            return Err(InvalidField::new("narrative", Reason::Required));
        }
        Ok(())
    }

    fn facts(&self) -> Facts {
        Facts {
            title: format!("{} 月报", self.month),
            date: parse_month(&self.month)
                .and_then(|(y, m)| chrono::NaiveDate::from_ymd_opt(y, m, 1)),
            sub_kind: Some(self.month.clone()),
            status: Some(enum_name(&self.state)),
            reaches: Vec::new(),
            search_text: [
                self.month.as_str(),
                self.narrative.as_str(),
                self.review_comment.as_str(),
            ]
            .join("\n"),
            detail: serde_json::json!({ "month": self.month }),
        }
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "month" => "月份",
            "state" => "状态",
            "figures" => "统计数据",
            "narrative" => "工作总结",
            "review_comment" => "审核意见",
            "reviewed_by" => "审核人",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> MonthlyReport {
        MonthlyReport {
            month: "2026-05".into(),
            narrative: "本月开展党课两次".into(),
            ..Default::default()
        }
    }

    #[test]
    fn states_move_draft_submitted_returned_accepted() {
        let d = draft();
        let mut s = d.clone();
        s.state = ReportState::Submitted;
        assert!(s.validate(Some(&d)).is_ok());
        let mut a = s.clone();
        a.state = ReportState::Accepted;
        assert!(a.validate(Some(&s)).is_ok());
        let mut back = a.clone();
        back.state = ReportState::Draft;
        assert_eq!(
            back.validate(Some(&a)).unwrap_err().to_string(),
            "state cannot change from accepted to draft"
        );
        let mut r = s.clone();
        r.state = ReportState::Returned;
        assert_eq!(r.validate(Some(&s)).unwrap_err().field, "review_comment");
        r.review_comment = "请补充走访情况".into();
        assert!(r.validate(Some(&s)).is_ok());
    }

    #[test]
    fn a_new_report_cannot_start_accepted_and_month_is_checked() {
        let mut a = draft();
        a.state = ReportState::Accepted;
        assert_eq!(a.validate(None).unwrap_err().field, "state");
        let mut m = draft();
        m.month = "2026-5".into();
        assert_eq!(m.validate(None).unwrap_err().field, "month");
    }
}
