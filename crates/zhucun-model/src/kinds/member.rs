//! Members 党员 and the development pipeline 发展党员: applicant → activist → development
//! target → probationary member → full member, with the date of each step. Holds personal
//! data (ID number, phone): the replica encrypts it at rest and nothing logs it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{enum_name, in_order, pipeline, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::figures::MemberFacts;
use crate::rules::{Forbidden, Role};
use crate::values::{max_len, opt_date, required};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Gender {
    #[serde(alias = "男")]
    Male,
    #[serde(alias = "女")]
    Female,
    #[default]
    #[serde(alias = "")]
    Unspecified,
}

/// 分类管理: how the branch manages the member.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum MemberCategory {
    /// 在村党员
    #[default]
    #[serde(alias = "在村党员", alias = "在村")]
    Resident,
    /// 流动党员
    #[serde(alias = "流动党员", alias = "流动")]
    Migrant,
    /// 年老体弱党员
    #[serde(alias = "年老体弱党员", alias = "年老体弱")]
    ElderlyInfirm,
    /// 其他
    #[serde(alias = "其他")]
    Other,
}

/// The development pipeline, in order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Stage {
    /// 入党申请人
    #[serde(alias = "入党申请人")]
    Applicant,
    /// 入党积极分子
    #[serde(alias = "入党积极分子", alias = "积极分子")]
    Activist,
    /// 发展对象
    #[serde(alias = "发展对象")]
    DevelopmentTarget,
    /// 预备党员
    #[serde(alias = "预备党员")]
    Probationary,
    /// 正式党员
    #[default]
    #[serde(alias = "正式党员")]
    Full,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Applicant,
        Stage::Activist,
        Stage::DevelopmentTarget,
        Stage::Probationary,
        Stage::Full,
    ];

    /// How concurrent moves of a member's stage merge: the furthest step wins (with the date
    /// it was given; see `Kind::move_field`), on every replica alike.
    pub fn merge_rank(self) -> u8 {
        self as u8
    }

    /// The field holding the date this stage was reached.
    pub fn date_field(self) -> &'static str {
        match self {
            Stage::Applicant => "applied_on",
            Stage::Activist => "activist_on",
            Stage::DevelopmentTarget => "target_on",
            Stage::Probationary => "probationary_on",
            Stage::Full => "full_on",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Stage::Applicant => "入党申请人",
            Stage::Activist => "入党积极分子",
            Stage::DevelopmentTarget => "发展对象",
            Stage::Probationary => "预备党员",
            Stage::Full => "正式党员",
        }
    }
}

/// Groups the development work gives priority to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum PriorityGroup {
    #[serde(alias = "返乡青年")]
    ReturningYouth,
    #[serde(alias = "退役军人")]
    DemobilisedSoldier,
    #[serde(alias = "高校毕业生")]
    CollegeGraduate,
}

/// A recognition 表彰.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Recognition {
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub date: Option<NaiveDate>,
    pub title: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Member {
    pub name: String,
    pub gender: Gender,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub birth_date: Option<NaiveDate>,
    /// 居民身份证号 (sensitive).
    pub id_number: String,
    /// 联系电话 (sensitive).
    pub phone: String,
    pub ethnicity: String,
    pub education: String,
    /// The branch or party group the member belongs to.
    pub branch: String,
    pub category: MemberCategory,
    pub stage: Stage,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub applied_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub activist_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub target_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub probationary_on: Option<NaiveDate>,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub full_on: Option<NaiveDate>,
    /// The branch's talk with the applicant 谈话 (within a month of the application).
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub talked_on: Option<NaiveDate>,
    /// The latest half-year assessment of an activist 考察.
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub assessed_on: Option<NaiveDate>,
    /// 入党介绍人: two full members, by record id.
    pub introducers: Vec<String>,
    /// 政治审查 concluded.
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub political_review_on: Option<NaiveDate>,
    /// Concentrated training 集中培训: days, or class hours.
    pub training_days: u32,
    pub training_hours: u32,
    /// The township's pre-review 预审 (the township's move).
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub prereview_on: Option<NaiveDate>,
    /// The public notice 公示 began.
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub notice_on: Option<NaiveDate>,
    /// The branch meeting's vote on admission: votes for, and full members entitled to vote.
    pub votes_for: u32,
    pub voters: u32,
    /// The township's approval of the probationary member 审批 (the township's move).
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub approved_on: Option<NaiveDate>,
    /// The township's approval of full membership 转正审批 (the township's move).
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub full_approved_on: Option<NaiveDate>,
    pub priority_groups: Vec<PriorityGroup>,
    pub recognitions: Vec<Recognition>,
    pub notes: String,
}

impl Member {
    pub fn stage_date(&self, s: Stage) -> Option<NaiveDate> {
        match s {
            Stage::Applicant => self.applied_on,
            Stage::Activist => self.activist_on,
            Stage::DevelopmentTarget => self.target_on,
            Stage::Probationary => self.probationary_on,
            Stage::Full => self.full_on,
        }
    }
}

/// Check a mainland resident ID number (GB 11643-1999): 17 digits and a check character.
pub fn check_id_number(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let expect = C[(sum % 11) as usize];
    b[17].to_ascii_uppercase() == expect
}

impl RecordBody for Member {
    const KIND: Kind = Kind::Member;

    fn validate(&self, previous: Option<&Self>) -> Result<(), InvalidField> {
        required("name", &self.name)?;
        max_len("name", &self.name, 50)?;
        let id = self.id_number.trim();
        if !id.is_empty() && !check_id_number(id) {
            return Err(InvalidField::new(
                "id_number",
                Reason::Format("is not a valid 18-character resident ID number".into()),
            ));
        }
        let phone = self.phone.trim();
        if !phone.is_empty()
            && (phone.len() < 5
                || phone.len() > 20
                || !phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ')))
        {
            return Err(InvalidField::new(
                "phone",
                Reason::Format("must be 5 to 20 digits".into()),
            ));
        }
        // Every stage date in order, and no date for a stage not reached yet.
        let mut last: Option<(Stage, NaiveDate)> = None;
        for s in Stage::ALL {
            let d = self.stage_date(s);
            if s > self.stage && d.is_some() {
                return Err(InvalidField::new(
                    s.date_field(),
                    Reason::NotYetReached {
                        stage: enum_name(&self.stage),
                    },
                ));
            }
            if let Some(d) = d {
                if let Some((ls, ld)) = last {
                    in_order(ls.date_field(), Some(ld), s.date_field(), Some(d))?;
                }
                last = Some((s, d));
            }
        }
        // A member still in the pipeline needs the date of the current step.
        if self.stage < Stage::Full && self.stage_date(self.stage).is_none() {
            return Err(InvalidField::new(self.stage.date_field(), Reason::Required));
        }
        in_order("birth_date", self.birth_date, "applied_on", self.applied_on)?;
        for (i, r) in self.recognitions.iter().enumerate() {
            required(&format!("recognitions[{i}].title"), &r.title)?;
        }
        in_order("applied_on", self.applied_on, "talked_on", self.talked_on)?;
        in_order(
            "activist_on",
            self.activist_on,
            "assessed_on",
            self.assessed_on,
        )?;
        if self.votes_for > self.voters {
            return Err(InvalidField::new(
                "votes_for",
                Reason::OutOfRange {
                    min: 0,
                    max: i64::from(self.voters),
                },
            ));
        }
        for (i, id) in self.introducers.iter().enumerate() {
            max_len(&format!("introducers[{i}]"), id, 64)?;
        }
        pipeline::check(self, previous)
    }

    fn member_refs(&self) -> Vec<(String, String)> {
        self.introducers
            .iter()
            .enumerate()
            .filter(|(_, id)| !id.trim().is_empty())
            .map(|(i, id)| (format!("introducers[{i}]"), id.clone()))
            .collect()
    }

    /// The township's approvals are its moves: no other role gives or changes them.
    fn permit_edit(&self, p: &Self, role: Role) -> Result<(), Forbidden> {
        let given = [
            ("prereview_on", self.prereview_on != p.prereview_on),
            ("approved_on", self.approved_on != p.approved_on),
            (
                "full_approved_on",
                self.full_approved_on != p.full_approved_on,
            ),
        ];
        Forbidden::first_change(Kind::Member, role, pipeline::may_approve(role), &given)
    }

    fn facts(&self) -> Facts {
        // The ID number and phone are deliberately not searchable nor in the projection.
        Facts {
            title: self.name.clone(),
            date: self.stage_date(self.stage),
            sub_kind: Some(enum_name(&self.category)),
            status: Some(enum_name(&self.stage)),
            reaches: Vec::new(),
            search_text: [
                self.name.as_str(),
                self.branch.as_str(),
                self.education.as_str(),
                self.stage.label_zh(),
                self.notes.as_str(),
            ]
            .join("\n"),
            detail: serde_json::to_value(MemberFacts {
                gender: self.gender,
                category: self.category,
                stage: self.stage,
                birth_date: self.birth_date,
                probationary_on: self.probationary_on,
                full_on: self.full_on,
                applied_on: self.applied_on,
                talked_on: self.talked_on,
                activist_on: self.activist_on,
                assessed_on: self.assessed_on,
                approved_on: self.approved_on,
            })
            .unwrap_or_default(),
        }
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "name" => "姓名",
            "gender" => "性别",
            "birth_date" => "出生日期",
            "id_number" => "身份证号",
            "phone" => "联系电话",
            "ethnicity" => "民族",
            "education" => "学历",
            "branch" => "所在支部",
            "category" => "党员类别",
            "stage" => "发展阶段",
            "applied_on" => "申请入党日期",
            "activist_on" => "确定积极分子日期",
            "target_on" => "确定发展对象日期",
            "probationary_on" => "接收预备党员日期",
            "full_on" => "转为正式党员日期",
            "talked_on" => "谈话日期",
            "assessed_on" => "最近考察日期",
            "introducers" => "入党介绍人",
            "political_review_on" => "政治审查日期",
            "training_days" => "集中培训天数",
            "training_hours" => "集中培训学时",
            "prereview_on" => "乡镇党委预审日期",
            "notice_on" => "公示日期",
            "votes_for" => "赞成票数",
            "voters" => "有表决权的正式党员数",
            "approved_on" => "乡镇党委审批日期",
            "full_approved_on" => "转正审批日期",
            "priority_groups" => "重点群体",
            "recognitions" => "表彰",
            "notes" => "备注",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    fn activist() -> Member {
        Member {
            name: "刘芳".into(),
            gender: Gender::Female,
            stage: Stage::Activist,
            applied_on: d(2025, 3, 1),
            activist_on: d(2025, 9, 1),
            ..Default::default()
        }
    }

    #[test]
    fn pipeline_dates_must_be_in_order() {
        assert!(activist().validate(None).is_ok());
        let mut m = activist();
        m.activist_on = d(2025, 1, 1);
        let e = m.validate(None).unwrap_err();
        assert_eq!(e.field, "activist_on");
        assert_eq!(
            e.to_string(),
            "activist_on must not be before 2025-03-01 (applied_on)"
        );
    }

    #[test]
    fn no_date_for_a_stage_not_reached() {
        let mut m = activist();
        m.probationary_on = d(2026, 1, 1);
        assert_eq!(m.validate(None).unwrap_err().field, "probationary_on");
    }

    #[test]
    fn current_stage_needs_its_date() {
        let mut m = activist();
        m.activist_on = None;
        assert_eq!(
            m.validate(None).unwrap_err().to_string(),
            "activist_on is required"
        );
    }

    #[test]
    fn id_numbers_are_checked() {
        assert!(check_id_number("11010519491231002X"));
        assert!(!check_id_number("110105194912310021"));
        let mut m = activist();
        m.id_number = "12345".into();
        assert_eq!(m.validate(None).unwrap_err().field, "id_number");
    }

    #[test]
    fn personal_data_is_not_in_search_text() {
        let mut m = activist();
        m.id_number = "11010519491231002X".into();
        m.phone = "13800138000".into();
        let f = m.facts();
        assert!(!f.search_text.contains("1101051949"));
        assert!(!f.search_text.contains("13800138000"));
        assert!(!f.detail.to_string().contains("13800138000"));
    }
}
