//! The village profile 村情概况: one per village, community or school.

use serde::{Deserialize, Serialize};

use super::{enum_name, Kind, RecordBody};
use crate::error::{InvalidField, Reason};
use crate::facts::Facts;
use crate::rules::{self, Forbidden, Role};
use crate::values::{max_len, required, Money};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum UnitType {
    #[default]
    #[serde(alias = "村")]
    Village,
    #[serde(alias = "社区")]
    Community,
    #[serde(alias = "学校")]
    School,
}

/// The form of the party organisation, set by its member count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum PartyOrgType {
    /// 党委
    #[serde(alias = "党委")]
    Committee,
    /// 党总支
    #[serde(alias = "党总支")]
    GeneralBranch,
    /// 党支部
    #[default]
    #[serde(alias = "党支部")]
    Branch,
    /// 联合党支部 (fewer than 3 members, attached to a nearby branch)
    #[serde(alias = "联合党支部")]
    JointBranch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct VillageProfile {
    pub name: String,
    pub unit_type: UnitType,
    pub township: String,
    pub households: u32,
    pub population: u32,
    pub party_org: PartyOrgType,
    pub branch_secretary: String,
    pub first_secretary: String,
    /// "One village, one feature" 一村一特色.
    pub feature: String,
    /// Yearly income of the village collective, in yuan.
    pub collective_income: Money,
    /// New members the village is to develop each year (3 to 5): set by the township.
    pub development_target: u32,
    /// The share of women among them, in whole percent (0: none set): set by the township.
    pub women_target_percent: u32,
    pub notes: String,
}

impl Default for VillageProfile {
    fn default() -> Self {
        VillageProfile {
            name: String::new(),
            unit_type: UnitType::Village,
            township: String::new(),
            households: 0,
            population: 0,
            party_org: PartyOrgType::Branch,
            branch_secretary: String::new(),
            first_secretary: String::new(),
            feature: String::new(),
            collective_income: Money(0),
            development_target: 3,
            women_target_percent: 0,
            notes: String::new(),
        }
    }
}

impl RecordBody for VillageProfile {
    const KIND: Kind = Kind::Village;

    fn validate(&self, previous: Option<&Self>) -> Result<(), InvalidField> {
        required("name", &self.name)?;
        max_len("name", &self.name, 100)?;
        self.collective_income.check("collective_income")?;
        if !(1..=20).contains(&self.development_target) {
            return Err(InvalidField::new(
                "development_target",
                Reason::OutOfRange { min: 1, max: 20 },
            ));
        }
        // A target set now is one the rules allow (one stored before is not judged again; a new
        // profile keeps the default, the minimum, unless it sets one).
        let (min, max) = rules::DEVELOPMENT_TARGET;
        let before = previous.map_or(VillageProfile::default().development_target, |p| {
            p.development_target
        });
        let set_now = before != self.development_target;
        if set_now && !(min..=max).contains(&self.development_target) {
            return Err(InvalidField::new(
                "development_target",
                Reason::OutOfRange {
                    min: min.into(),
                    max: max.into(),
                },
            ));
        }
        if self.women_target_percent > 100 {
            return Err(InvalidField::new(
                "women_target_percent",
                Reason::OutOfRange { min: 0, max: 100 },
            ));
        }
        Ok(())
    }

    /// The yearly targets are the township's to set.
    fn permit_edit(&self, p: &Self, role: Role) -> Result<(), Forbidden> {
        let set = [
            (
                "development_target",
                self.development_target != p.development_target,
            ),
            (
                "women_target_percent",
                self.women_target_percent != p.women_target_percent,
            ),
        ];
        Forbidden::first_change(Kind::Village, role, rules::may_set_targets(role), &set)
    }

    fn facts(&self) -> Facts {
        Facts {
            title: self.name.clone(),
            date: None,
            sub_kind: Some(enum_name(&self.unit_type)),
            status: None,
            reaches: Vec::new(),
            search_text: [
                self.name.as_str(),
                self.township.as_str(),
                self.feature.as_str(),
                self.first_secretary.as_str(),
                self.branch_secretary.as_str(),
                self.notes.as_str(),
            ]
            .join("\n"),
            detail: serde_json::to_value(crate::figures::VillageFacts {
                development_target: self.development_target,
                women_target_percent: self.women_target_percent,
                collective_income: self.collective_income,
            })
            .unwrap_or_default(),
        }
    }

    fn label_zh(field: &str) -> Option<&'static str> {
        Some(match field {
            "name" => "名称",
            "unit_type" => "类型",
            "township" => "所属乡镇",
            "households" => "户数",
            "population" => "人口",
            "party_org" => "党组织形式",
            "branch_secretary" => "支部书记",
            "first_secretary" => "第一书记",
            "feature" => "特色品牌",
            "collective_income" => "集体经济收入（元）",
            "development_target" => "年度发展党员目标",
            "women_target_percent" => "发展女党员比例目标（%）",
            "notes" => "备注",
            _ => return None,
        })
    }
}
