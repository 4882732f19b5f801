//! Tasks 任务 from the township or city: deadline, assigned villages, status and progress
//! notes. Both the office and the village edit a task, concurrently and offline.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{date_str, enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::rules::{due, Due, Forbidden, Refused, Role};
use crate::values::{check_file_name, check_hash, max_len, opt_date, required, Attachment};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum TaskStatus {
    #[default]
    #[serde(alias = "未开始")]
    Open,
    #[serde(alias = "进行中")]
    InProgress,
    #[serde(alias = "已完成")]
    Done,
    #[serde(alias = "已取消")]
    Cancelled,
}

/// A note on a task's progress 进度.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProgressNote {
    /// Who wrote it (person).
    pub by: String,
    /// The village the note is about, if any.
    pub village: String,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub on: Option<NaiveDate>,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Task {
    pub title: String,
    /// The organisation unit that issued the task.
    pub issuer: String,
    /// The villages the task is for.
    pub assigned_villages: Vec<String>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub deadline: Option<NaiveDate>,
    pub status: TaskStatus,
    pub notes: Vec<ProgressNote>,
    pub description: String,
    /// Files the issuing office sent with the task (a notice, a form to fill in).
    pub attachments: Vec<Attachment>,
}

/// The most files a task carries.
pub const MAX_TASK_ATTACHMENTS: usize = 20;

impl Task {
    /// Where the task stands against its deadline on `today`.
    pub fn due_on(&self, today: NaiveDate) -> Due {
        due(self.status.is_open(), self.deadline, today)
    }

    /// Whether the task is past its deadline on `today` and not finished.
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        self.due_on(today) == Due::Overdue
    }
}

impl RecordBody for Task {
    const KIND: Kind = Kind::Task;

    fn validate(&self, previous: Option<&Self>) -> Result<(), InvalidField> {
        required("title", &self.title)?;
        max_len("title", &self.title, 200)?;
        required("issuer", &self.issuer)?;
        if self.assigned_villages.is_empty() {
            return Err(InvalidField::new("assigned_villages", Reason::Required));
        }
        if self.assigned_villages.len() > 10_000 {
            return Err(InvalidField::new(
                "assigned_villages",
                Reason::OutOfRange {
                    min: 1,
                    max: 10_000,
                },
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, v) in self.assigned_villages.iter().enumerate() {
            required(&format!("assigned_villages[{i}]"), v)?;
            if !seen.insert(v) {
                return Err(InvalidField::new(
                    format!("assigned_villages[{i}]"),
                    Reason::Format("lists the same village twice".into()),
                ));
            }
        }
        if self.deadline.is_none() {
            return Err(InvalidField::new("deadline", Reason::Required));
        }
        if let Some(p) = previous {
            self.unchanged(p)?;
        }
        for (i, n) in self.notes.iter().enumerate() {
            required(&format!("notes[{i}].text"), &n.text)?;
        }
        if self.attachments.len() > MAX_TASK_ATTACHMENTS {
            return Err(InvalidField::new(
                "attachments",
                Reason::OutOfRange {
                    min: 0,
                    max: MAX_TASK_ATTACHMENTS as i64,
                },
            ));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            check_hash(&format!("attachments[{i}].hash"), &a.hash)?;
            check_file_name(&format!("attachments[{i}].name"), &a.name)?;
        }
        Ok(())
    }

    fn unchanged(&self, p: &Self) -> Result<(), InvalidField> {
        if p.issuer != self.issuer {
            return Err(InvalidField::new("issuer", Reason::Immutable));
        }
        Ok(())
    }

    /// The office that issues tasks sets what the task is and closes it; the villages it
    /// reaches start work on it and write progress notes.
    fn permit_edit(&self, p: &Self, role: Role) -> Result<(), Forbidden> {
        let refuse = |field: &str, rule: Refused| {
            Err(Forbidden {
                role,
                kind: Kind::Task,
                field: field.into(),
                rule,
            })
        };
        if !p.status.may_become(self.status, role) {
            return refuse(
                "status",
                Refused::Move {
                    from: enum_name(&p.status),
                    to: enum_name(&self.status),
                },
            );
        }
        let office_fields = [
            ("title", self.title != p.title),
            ("issuer", self.issuer != p.issuer),
            (
                "assigned_villages",
                self.assigned_villages != p.assigned_villages,
            ),
            ("deadline", self.deadline != p.deadline),
            ("description", self.description != p.description),
            ("attachments", self.attachments != p.attachments),
        ];
        for (field, changed) in office_fields {
            if changed && !role.is_office() {
                return refuse(field, Refused::Change);
            }
        }
        Ok(())
    }

    fn facts(&self) -> Facts {
        let mut search = vec![self.title.clone(), self.description.clone()];
        search.extend(self.notes.iter().map(|n| n.text.clone()));
        Facts {
            title: self.title.clone(),
            date: self.deadline,
            sub_kind: None,
            status: Some(enum_name(&self.status)),
            reaches: self.assigned_villages.clone(),
            search_text: search.join("\n"),
            detail: serde_json::to_value(crate::figures::TaskFacts {
                deadline: date_str(self.deadline),
                issuer: self.issuer.clone(),
                notes: self.notes.len() as u32,
            })
            .unwrap_or_default(),
        }
    }

    fn blob_refs(&self) -> Vec<(String, String)> {
        crate::values::attachment_refs(&self.attachments)
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "title" => "任务名称",
            "issuer" => "下达单位",
            "assigned_villages" => "责任村",
            "deadline" => "截止日期",
            "status" => "状态",
            "notes" => "进度记录",
            "description" => "任务要求",
            "attachments" => "附件",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AnyRecord;

    #[test]
    fn a_task_needs_villages_and_a_deadline() {
        let mut t = Task {
            title: "报送融合发展工作方案".into(),
            issuer: "town-1".into(),
            ..Default::default()
        };
        assert_eq!(t.validate(None).unwrap_err().field, "assigned_villages");
        t.assigned_villages = vec!["v1".into()];
        assert_eq!(t.validate(None).unwrap_err().field, "deadline");
        t.deadline = NaiveDate::from_ymd_opt(2026, 5, 20);
        assert!(t.validate(None).is_ok());
        assert!(t.overdue_on(NaiveDate::from_ymd_opt(2026, 5, 21).unwrap()));
        assert!(!t.overdue_on(NaiveDate::from_ymd_opt(2026, 5, 20).unwrap()));
    }

    #[test]
    fn the_village_answers_a_task_the_township_closes_it() {
        use crate::rules::Role::*;
        let t = Task {
            title: "报送融合发展工作方案".into(),
            issuer: "chengguan".into(),
            assigned_villages: vec!["dongfeng".into()],
            deadline: NaiveDate::from_ymd_opt(2026, 5, 20),
            ..Default::default()
        };
        let any = |t: &Task| AnyRecord::Task(t.clone());
        assert!(any(&t).permit(None, TownshipOfficer).is_ok());
        assert_eq!(
            any(&t)
                .permit(None, FirstSecretary)
                .unwrap_err()
                .to_string(),
            "first_secretary may not create a task"
        );
        let mut working = t.clone();
        working.status = TaskStatus::InProgress;
        working.notes.push(ProgressNote {
            by: "li-ming".into(),
            text: "已起草".into(),
            ..Default::default()
        });
        assert!(any(&working).permit(Some(&any(&t)), FirstSecretary).is_ok());
        let mut done = working.clone();
        done.status = TaskStatus::Done;
        let e = any(&done)
            .permit(Some(&any(&working)), FirstSecretary)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "first_secretary may not change a task's status from in_progress to done"
        );
        assert!(any(&done)
            .permit(Some(&any(&working)), TownshipOfficer)
            .is_ok());
        let mut later = t.clone();
        later.deadline = NaiveDate::from_ymd_opt(2026, 6, 20);
        assert_eq!(
            any(&later)
                .permit(Some(&any(&t)), Instructor)
                .unwrap_err()
                .field,
            "deadline"
        );
        // The refused close keeps the village's notes.
        let kept = any(&t)
            .keep_words(
                &any(&done),
                "li-ming",
                NaiveDate::from_ymd_opt(2026, 5, 19).unwrap(),
            )
            .unwrap();
        assert!(kept.permit(Some(&any(&t)), FirstSecretary).is_ok());
        let AnyRecord::Task(k) = kept else { panic!() };
        assert_eq!((k.status, k.notes.len()), (TaskStatus::Open, 1));
    }
}
