//! Activity records 活动记录: "three meetings and one lesson", theme party days, trainings,
//! household visits, demonstration actions and the other work a village logs.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::figures::ActivityFacts;
use crate::values::{check_hash, max_len, opt_date, required, Attachment};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ActivityKind {
    /// 支部党员大会
    #[serde(alias = "支部党员大会")]
    BranchMemberMeeting,
    /// 支委会
    #[serde(alias = "支委会")]
    BranchCommitteeMeeting,
    /// 党小组会
    #[serde(alias = "党小组会")]
    PartyGroupMeeting,
    /// 党课
    #[default]
    #[serde(alias = "党课")]
    PartyLecture,
    /// 主题党日
    #[serde(alias = "主题党日")]
    ThemePartyDay,
    /// 组织生活会 (yearly, with the democratic appraisal of members)
    #[serde(alias = "组织生活会")]
    OrganisationalLifeMeeting,
    /// 民主评议党员
    #[serde(alias = "民主评议党员")]
    DemocraticAppraisal,
    /// 集中授课
    #[serde(alias = "集中授课")]
    TrainingLecture,
    /// 外出学习
    #[serde(alias = "外出学习")]
    StudyTrip,
    /// 以赛促学
    #[serde(alias = "以赛促学")]
    Competition,
    /// 观摩交流
    #[serde(alias = "观摩交流")]
    Observation,
    /// 走访
    #[serde(alias = "走访")]
    HouseholdVisit,
    /// 党员示范岗/户/点, 亮身份
    #[serde(alias = "示范带动")]
    Demonstration,
    /// 村集体经济工作
    #[serde(alias = "集体经济")]
    CollectiveEconomy,
    /// 活动场所检查
    #[serde(alias = "场所检查")]
    VenueInspection,
    /// 其他
    #[serde(alias = "其他")]
    Other,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 16] = [
        ActivityKind::BranchMemberMeeting,
        ActivityKind::BranchCommitteeMeeting,
        ActivityKind::PartyGroupMeeting,
        ActivityKind::PartyLecture,
        ActivityKind::ThemePartyDay,
        ActivityKind::OrganisationalLifeMeeting,
        ActivityKind::DemocraticAppraisal,
        ActivityKind::TrainingLecture,
        ActivityKind::StudyTrip,
        ActivityKind::Competition,
        ActivityKind::Observation,
        ActivityKind::HouseholdVisit,
        ActivityKind::Demonstration,
        ActivityKind::CollectiveEconomy,
        ActivityKind::VenueInspection,
        ActivityKind::Other,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            ActivityKind::BranchMemberMeeting => "支部党员大会",
            ActivityKind::BranchCommitteeMeeting => "支委会",
            ActivityKind::PartyGroupMeeting => "党小组会",
            ActivityKind::PartyLecture => "党课",
            ActivityKind::ThemePartyDay => "主题党日",
            ActivityKind::OrganisationalLifeMeeting => "组织生活会",
            ActivityKind::DemocraticAppraisal => "民主评议党员",
            ActivityKind::TrainingLecture => "集中授课",
            ActivityKind::StudyTrip => "外出学习",
            ActivityKind::Competition => "以赛促学",
            ActivityKind::Observation => "观摩交流",
            ActivityKind::HouseholdVisit => "走访",
            ActivityKind::Demonstration => "示范带动",
            ActivityKind::CollectiveEconomy => "集体经济",
            ActivityKind::VenueInspection => "场所检查",
            ActivityKind::Other => "其他",
        }
    }

    pub fn is_meeting(self) -> bool {
        matches!(
            self,
            ActivityKind::BranchMemberMeeting
                | ActivityKind::BranchCommitteeMeeting
                | ActivityKind::PartyGroupMeeting
        )
    }

    pub fn is_training(self) -> bool {
        matches!(
            self,
            ActivityKind::TrainingLecture
                | ActivityKind::StudyTrip
                | ActivityKind::Competition
                | ActivityKind::Observation
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum DemonstrationType {
    /// 党员示范岗
    #[serde(alias = "示范岗")]
    Post,
    /// 党员示范户
    #[serde(alias = "示范户")]
    Household,
    /// 党员示范点
    #[serde(alias = "示范点")]
    Site,
    /// 亮身份
    #[serde(alias = "亮身份")]
    ShowIdentity,
}

/// Something to do after the activity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct FollowUp {
    pub text: String,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub due: Option<NaiveDate>,
    pub done: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Activity {
    pub activity_kind: ActivityKind,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub date: Option<NaiveDate>,
    pub place: String,
    pub topic: String,
    /// Member record ids of the members present.
    pub attendees: Vec<String>,
    /// People present who are not on the roster (villagers, guests).
    pub other_attendees: u32,
    /// Presiding person (meetings).
    pub host: String,
    /// Lecturer or trainer (party lectures, trainings).
    pub lecturer: String,
    /// Length in minutes.
    pub duration_minutes: u32,
    /// The household visited (household visits).
    pub household: String,
    /// Which demonstration action (demonstrations).
    pub demonstration: Option<DemonstrationType>,
    pub summary: String,
    pub follow_ups: Vec<FollowUp>,
    pub attachments: Vec<Attachment>,
}

impl RecordBody for Activity {
    const KIND: Kind = Kind::Activity;

    fn validate(&self, _previous: Option<&Self>) -> Result<(), InvalidField> {
        if self.date.is_none() {
            return Err(InvalidField::new("date", Reason::Required));
        }
        required("topic", &self.topic)?;
        max_len("topic", &self.topic, 200)?;
        max_len("place", &self.place, 200)?;
        max_len("summary", &self.summary, 20_000)?;
        let k = self.activity_kind;
        if k == ActivityKind::PartyLecture || k.is_training() {
            required("lecturer", &self.lecturer)?;
        }
        if k == ActivityKind::HouseholdVisit {
            required("household", &self.household)?;
        } else if !self.household.trim().is_empty() {
            return Err(InvalidField::new(
                "household",
                Reason::NotForKind(enum_name(&ActivityKind::HouseholdVisit)),
            ));
        }
        if k == ActivityKind::Demonstration {
            if self.demonstration.is_none() {
                return Err(InvalidField::new("demonstration", Reason::Required));
            }
        } else if self.demonstration.is_some() {
            return Err(InvalidField::new(
                "demonstration",
                Reason::NotForKind(enum_name(&ActivityKind::Demonstration)),
            ));
        }
        if self.duration_minutes > 24 * 60 * 14 {
            return Err(InvalidField::new(
                "duration_minutes",
                Reason::OutOfRange {
                    min: 0,
                    max: 24 * 60 * 14,
                },
            ));
        }
        if self.attendees.len() > 5_000 {
            return Err(InvalidField::new(
                "attendees",
                Reason::OutOfRange { min: 0, max: 5_000 },
            ));
        }
        if self.other_attendees > 100_000 {
            return Err(InvalidField::new(
                "other_attendees",
                Reason::OutOfRange {
                    min: 0,
                    max: 100_000,
                },
            ));
        }
        let mut seen = std::collections::HashSet::with_capacity(self.attendees.len());
        for (i, a) in self.attendees.iter().enumerate() {
            if a.trim().is_empty() {
                return Err(InvalidField::new(
                    format!("attendees[{i}]"),
                    Reason::Required,
                ));
            }
            if !seen.insert(a) {
                return Err(InvalidField::new(
                    format!("attendees[{i}]"),
                    Reason::Format("lists the same member twice".into()),
                ));
            }
        }
        for (i, f) in self.follow_ups.iter().enumerate() {
            required(&format!("follow_ups[{i}].text"), &f.text)?;
        }
        for (i, a) in self.attachments.iter().enumerate() {
            check_hash(&format!("attachments[{i}].hash"), &a.hash)?;
        }
        Ok(())
    }

    fn facts(&self) -> Facts {
        let mut search = vec![
            self.topic.clone(),
            self.place.clone(),
            self.host.clone(),
            self.lecturer.clone(),
            self.household.clone(),
            self.summary.clone(),
            self.activity_kind.label_zh().to_string(),
        ];
        search.extend(self.follow_ups.iter().map(|f| f.text.clone()));
        Facts {
            title: self.topic.clone(),
            date: self.date,
            sub_kind: Some(enum_name(&self.activity_kind)),
            status: None,
            reaches: Vec::new(),
            search_text: search.join("\n"),
            detail: serde_json::to_value(ActivityFacts {
                activity_kind: self.activity_kind,
                date: self.date,
                attendees: (self.attendees.len() as u32).saturating_add(self.other_attendees),
                open_follow_ups: self.follow_ups.iter().filter(|f| !f.done).count() as u32,
            })
            .unwrap_or_default(),
        }
    }

    fn member_refs(&self) -> Vec<(String, String)> {
        self.attendees
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("attendees[{i}]"), a.clone()))
            .collect()
    }

    fn blob_refs(&self) -> Vec<(String, String)> {
        crate::values::attachment_refs(&self.attachments)
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "activity_kind" => "活动类型",
            "date" => "日期",
            "place" => "地点",
            "topic" => "主题",
            "attendees" => "参加党员",
            "other_attendees" => "其他参加人数",
            "host" => "主持人",
            "lecturer" => "授课人",
            "duration_minutes" => "时长（分钟）",
            "household" => "走访户",
            "demonstration" => "示范类型",
            "summary" => "内容摘要",
            "follow_ups" => "后续事项",
            "attachments" => "附件",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lecture() -> Activity {
        Activity {
            activity_kind: ActivityKind::PartyLecture,
            date: NaiveDate::from_ymd_opt(2026, 5, 1),
            topic: "学习党章".into(),
            lecturer: "王书记".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_lecture_needs_a_lecturer() {
        assert!(lecture().validate(None).is_ok());
        let mut a = lecture();
        a.lecturer = " ".into();
        assert_eq!(
            a.validate(None).unwrap_err().to_string(),
            "lecturer is required"
        );
    }

    #[test]
    fn a_visit_needs_a_household_and_only_visits_have_one() {
        let mut a = lecture();
        a.activity_kind = ActivityKind::HouseholdVisit;
        assert_eq!(a.validate(None).unwrap_err().field, "household");
        a.household = "张大爷家".into();
        assert!(a.validate(None).is_ok());
        a.activity_kind = ActivityKind::ThemePartyDay;
        assert_eq!(
            a.validate(None).unwrap_err().reason,
            Reason::NotForKind("household_visit".into())
        );
    }

    #[test]
    fn empty_topic_and_missing_date_are_named() {
        let mut a = lecture();
        a.topic.clear();
        assert_eq!(a.validate(None).unwrap_err().field, "topic");
        let mut a = lecture();
        a.date = None;
        assert_eq!(a.validate(None).unwrap_err().field, "date");
    }

    #[test]
    fn chinese_kind_names_are_accepted() {
        let k: ActivityKind = serde_json::from_str("\"主题党日\"").unwrap();
        assert_eq!(k, ActivityKind::ThemePartyDay);
    }
}
