//! Village projects 项目: the village activity venue 村级活动场所 and collective-economy
//! projects 村集体经济, with funds, milestones and progress.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{enum_name, in_order, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::figures::ProjectFacts;
use crate::values::{check_hash, max_len, opt_date, required, Attachment, Money};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ProjectKind {
    /// 村级活动场所
    #[default]
    #[serde(alias = "村级活动场所", alias = "活动场所")]
    ActivityVenue,
    /// 村集体经济
    #[serde(alias = "村集体经济", alias = "集体经济")]
    CollectiveEconomy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ProjectStatus {
    #[default]
    #[serde(alias = "计划中")]
    Planned,
    #[serde(alias = "进行中")]
    InProgress,
    #[serde(alias = "已完成")]
    Completed,
    #[serde(alias = "已暂停")]
    Suspended,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Milestone {
    pub title: String,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub due: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub done_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Project {
    pub project_kind: ProjectKind,
    pub name: String,
    pub status: ProjectStatus,
    /// Funds planned for the project, in yuan.
    pub funds_planned: Money,
    /// Funds allocated from above (e.g. the organization department's infrastructure funds).
    pub funds_allocated: Money,
    /// Money raised locally.
    pub funds_raised: Money,
    pub funds_spent: Money,
    /// Yearly income the project brings the village collective.
    pub annual_income: Money,
    /// Date the responsibility letter 责任书 was signed.
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub responsibility_letter_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub start_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub due_on: Option<NaiveDate>,
    /// Progress in percent.
    pub progress: u32,
    pub milestones: Vec<Milestone>,
    pub description: String,
    pub attachments: Vec<Attachment>,
}

impl RecordBody for Project {
    const KIND: Kind = Kind::Project;

    fn validate(&self, _previous: Option<&Self>) -> Result<(), InvalidField> {
        required("name", &self.name)?;
        max_len("name", &self.name, 200)?;
        self.funds_planned.check("funds_planned")?;
        self.funds_allocated.check("funds_allocated")?;
        self.funds_raised.check("funds_raised")?;
        self.funds_spent.check("funds_spent")?;
        self.annual_income.check("annual_income")?;
        if self.progress > 100 {
            return Err(InvalidField::new(
                "progress",
                Reason::OutOfRange { min: 0, max: 100 },
            ));
        }
        if self.status == ProjectStatus::Completed && self.progress != 100 {
            return Err(InvalidField::new(
                "progress",
                Reason::Format("must be 100 when the project is completed".into()),
            ));
        }
        in_order("start_on", self.start_on, "due_on", self.due_on)?;
        for (i, m) in self.milestones.iter().enumerate() {
            required(&format!("milestones[{i}].title"), &m.title)?;
        }
        for (i, a) in self.attachments.iter().enumerate() {
            check_hash(&format!("attachments[{i}].hash"), &a.hash)?;
        }
        Ok(())
    }

    fn facts(&self) -> Facts {
        let mut search = vec![self.name.clone(), self.description.clone()];
        search.extend(self.milestones.iter().map(|m| m.title.clone()));
        Facts {
            title: self.name.clone(),
            date: self.due_on.or(self.start_on),
            sub_kind: Some(enum_name(&self.project_kind)),
            status: Some(enum_name(&self.status)),
            reaches: Vec::new(),
            search_text: search.join("\n"),
            detail: serde_json::to_value(ProjectFacts {
                project_kind: self.project_kind,
                name: self.name.clone(),
                status: self.status,
                progress: self.progress,
                funds_planned: self.funds_planned,
                funds_allocated: self.funds_allocated,
                funds_raised: self.funds_raised,
                funds_spent: self.funds_spent,
                annual_income: self.annual_income,
                milestones: self.milestones.len() as u32,
                milestones_done: self
                    .milestones
                    .iter()
                    .filter(|m| m.done_on.is_some())
                    .count() as u32,
                due_on: self.due_on,
            })
            .unwrap_or_default(),
        }
    }

    fn blob_refs(&self) -> Vec<(String, String)> {
        crate::values::attachment_refs(&self.attachments)
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "project_kind" => "项目类型",
            "name" => "项目名称",
            "status" => "状态",
            "funds_planned" => "计划资金（元）",
            "funds_allocated" => "下拨资金（元）",
            "funds_raised" => "自筹资金（元）",
            "funds_spent" => "已支出（元）",
            "annual_income" => "年收益（元）",
            "responsibility_letter_on" => "责任书签订日期",
            "start_on" => "开工日期",
            "due_on" => "计划完成日期",
            "progress" => "进度（%）",
            "milestones" => "节点",
            "description" => "项目说明",
            "attachments" => "附件",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_money_is_refused_by_name() {
        let p = Project {
            name: "活动场所改造".into(),
            funds_raised: Money(-100),
            ..Default::default()
        };
        assert_eq!(
            p.validate(None).unwrap_err().to_string(),
            "funds_raised must not be negative"
        );
    }

    #[test]
    fn progress_is_a_percentage() {
        let p = Project {
            name: "x".into(),
            progress: 120,
            ..Default::default()
        };
        assert_eq!(p.validate(None).unwrap_err().field, "progress");
    }
}
