//! Tasks 任务 from the township or city: deadline, assigned villages, status and progress
//! notes. Both the office and the village edit a task, concurrently and offline.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{date_str, enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::values::{max_len, opt_date, required};

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
}

impl Task {
    /// Whether the task is past its deadline on `today` and not finished.
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        matches!(self.status, TaskStatus::Open | TaskStatus::InProgress)
            && self.deadline.is_some_and(|d| d < today)
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
            if p.issuer != self.issuer {
                return Err(InvalidField::new("issuer", Reason::Immutable));
            }
        }
        for (i, n) in self.notes.iter().enumerate() {
            required(&format!("notes[{i}].text"), &n.text)?;
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
            detail: serde_json::json!({
                "deadline": date_str(self.deadline),
                "issuer": self.issuer,
                "notes": self.notes.len(),
            }),
        }
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
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
