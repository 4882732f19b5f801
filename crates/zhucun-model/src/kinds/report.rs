//! Monthly reports 月报告: village + month, figures computed from the month's records, a
//! narrative, and the review states draft → submitted → returned / accepted.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::figures::MonthlyFigures;
use crate::rules::{Forbidden, Refused, Role};
use crate::values::{max_len, opt_date, parse_month, required};

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
    /// Notes added to the report after it left the village (补充说明): the words of an edit
    /// the township's review overtook are kept here. Entries are only ever added.
    pub addenda: Vec<ReportNote>,
}

/// A note attached to a monthly report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ReportNote {
    /// Who wrote it (person).
    pub by: String,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub on: Option<NaiveDate>,
    pub text: String,
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
        if !Role::ALL.iter().any(|r| from.may_become(self.state, *r)) {
            return Err(InvalidField::new(
                "state",
                Reason::Transition {
                    from: enum_name(&from),
                    to: enum_name(&self.state),
                },
            ));
        }
        if let Some(p) = previous {
            self.unchanged(p)?;
        }
        if self.state == ReportState::Returned && self.review_comment.trim().is_empty() {
            return Err(InvalidField::new("review_comment", Reason::Required));
        }
        if self.state == ReportState::Submitted && self.narrative.trim().is_empty() {
            return Err(InvalidField::new("narrative", Reason::Required));
        }
        if self.addenda.len() > 1_000 {
            return Err(InvalidField::new(
                "addenda",
                Reason::OutOfRange { min: 0, max: 1_000 },
            ));
        }
        for (i, n) in self.addenda.iter().enumerate() {
            required(&format!("addenda[{i}].text"), &n.text)?;
            max_len(&format!("addenda[{i}].text"), &n.text, 50_000)?;
        }
        Ok(())
    }

    /// A report is of its month for good.
    fn unchanged(&self, p: &Self) -> Result<(), InvalidField> {
        if p.month != self.month {
            return Err(InvalidField::new("month", Reason::Immutable));
        }
        Ok(())
    }

    /// The village writes and submits; the township or city reviews a submitted report;
    /// notes are only ever added (kept whole, whatever order concurrent notes merge in).
    fn permit_edit(&self, p: &Self, role: Role) -> Result<(), Forbidden> {
        let refuse = |field: &str, rule: Refused| {
            Err(Forbidden {
                role,
                kind: Kind::Report,
                field: field.into(),
                rule,
            })
        };
        if !p.state.may_become(self.state, role) {
            return refuse(
                "state",
                Refused::Move {
                    from: enum_name(&p.state),
                    to: enum_name(&self.state),
                },
            );
        }
        let village_changed = [
            ("month", self.month != p.month),
            ("narrative", self.narrative != p.narrative),
            ("figures", self.figures != p.figures),
        ];
        for (field, changed) in village_changed {
            if changed && !(role.is_field() && p.state.open_to_village()) {
                return refuse(
                    field,
                    Refused::ChangeIn {
                        state: enum_name(&p.state),
                    },
                );
            }
        }
        let review_changed = [
            ("review_comment", self.review_comment != p.review_comment),
            ("reviewed_by", self.reviewed_by != p.reviewed_by),
        ];
        for (field, changed) in review_changed {
            if changed && !(role.is_office() && p.state == ReportState::Submitted) {
                return refuse(
                    field,
                    Refused::ChangeIn {
                        state: enum_name(&p.state),
                    },
                );
            }
        }
        let mut left: Vec<&ReportNote> = self.addenda.iter().collect();
        for n in &p.addenda {
            match left.iter().position(|x| *x == n) {
                Some(i) => {
                    left.remove(i);
                }
                None => return refuse("addenda", Refused::Change),
            }
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
            .into_iter()
            .chain(self.addenda.iter().map(|n| n.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
            detail: serde_json::to_value(crate::figures::ReportFacts {
                month: self.month.clone(),
            })
            .unwrap_or_default(),
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
            "addenda" => "补充说明",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnyRecord;

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

    fn report(state: ReportState, narrative: &str) -> AnyRecord {
        AnyRecord::Report(MonthlyReport {
            month: "2026-05".into(),
            state,
            narrative: narrative.into(),
            ..Default::default()
        })
    }

    #[test]
    fn who_may_move_a_report_is_the_models_rule() {
        use crate::rules::Role::*;
        let draft = report(ReportState::Draft, "本月开展党课两次");
        let submitted = report(ReportState::Submitted, "本月开展党课两次");
        let mut accepted = report(ReportState::Accepted, "本月开展党课两次");
        assert!(draft.permit(None, FirstSecretary).is_ok());
        let e = draft.permit(None, TownshipOfficer).unwrap_err();
        assert_eq!(e.to_string(), "township_officer may not create a report");
        assert!(submitted.permit(Some(&draft), Instructor).is_ok());
        let e = accepted
            .permit(Some(&submitted), FirstSecretary)
            .unwrap_err();
        assert_eq!(e.field, "state");
        assert_eq!(
            e.to_string(),
            "first_secretary may not change a report's state from submitted to accepted"
        );
        assert!(accepted.permit(Some(&submitted), TownshipOfficer).is_ok());
        // The township reviews; it does not write the village's words.
        if let AnyRecord::Report(r) = &mut accepted {
            r.narrative = "改写".into();
        }
        let e = accepted.permit(Some(&submitted), CityOfficer).unwrap_err();
        assert_eq!(e.field, "narrative");
        // Nothing of an accepted report's words changes, but notes may be added to it.
        let acc = report(ReportState::Accepted, "本月开展党课两次");
        let edited = report(ReportState::Accepted, "本月开展党课三次");
        let e = edited.permit(Some(&acc), FirstSecretary).unwrap_err();
        assert_eq!(
            e.to_string(),
            "first_secretary may not change narrative of a report that is accepted"
        );
        let kept = acc.keep_words(&edited, "li-ming", d("2026-06-02")).unwrap();
        assert!(kept.permit(Some(&acc), FirstSecretary).is_ok());
        let AnyRecord::Report(k) = &kept else {
            panic!()
        };
        assert_eq!(k.narrative, "本月开展党课两次");
        assert_eq!(k.addenda[0].text, "本月开展党课三次");
        assert!(kept.validate(Some(&acc)).is_ok());
        // Notes are only added: one taken away is refused, two merged in any order are not.
        assert_eq!(
            acc.permit(Some(&kept), FirstSecretary).unwrap_err().field,
            "addenda"
        );
        assert!(acc.keep_words(&acc, "li-ming", d("2026-06-02")).is_none());
    }

    fn d(s: &str) -> chrono::NaiveDate {
        crate::parse_date(s).unwrap()
    }
}
