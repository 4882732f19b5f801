//! A village's yearly targets set from the dashboard: how many new members it is to develop
//! (3 to 5) and the share of women among them. Setting them is an edit of the village's
//! profile record made as a device makes one (`sync::office_edit`, or `sync::office_create`
//! when the village has no profile yet), judged by the model: only the township's role may set
//! them, and a target only within the rules' range. No HTTP here (`http/office.rs` serves it).

use serde::{Deserialize, Serialize};
use zhucun_model::Kind;

use crate::dashboard::{DashError, View};
use crate::review::ReviewError;
use crate::store::{DeviceAuth, ProjQuery, Store};
use crate::sync::{office_create, office_edit, UnitPaths};

/// The body of `POST /api/villages/{id}/targets`, and its answer.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct VillageTargets {
    /// New members to develop this year (3 to 5).
    pub development_target: u32,
    /// The share of women among them, in whole percent (0: none).
    #[serde(default)]
    pub women_target_percent: u32,
}

/// Set village `village`'s targets as `who`.
pub async fn set(
    store: &dyn Store,
    units: &UnitPaths,
    view: &View,
    who: &DeviceAuth,
    village: &str,
    t: &VillageTargets,
) -> Result<VillageTargets, ReviewError> {
    let keeps_records = |kind: &str| {
        kind.parse::<zhucun_model::UnitKind>()
            .is_ok_and(zhucun_model::UnitKind::keeps_records)
    };
    let seen = view.unit(village).filter(|u| view.sees_id(&u.id));
    let Some(unit) = seen.filter(|u| keeps_records(&u.kind)) else {
        return Err(DashError::NoRecord(village.chars().take(64).collect()).into());
    };
    let mut input = serde_json::Map::new();
    input.insert("development_target".into(), t.development_target.into());
    input.insert("women_target_percent".into(), t.women_target_percent.into());
    let profile = store
        .projections(&ProjQuery {
            kind: "village".into(),
            village: Some(village.to_string()),
            ..Default::default()
        })
        .await?
        .into_iter()
        .next();
    match profile {
        Some(p) => office_edit(store, units, who, &p.id, input).await?,
        None => {
            input.insert("name".into(), unit.name.clone().into());
            office_create(store, units, who, Kind::Village, village, input).await?;
        }
    }
    Ok(t.clone())
}
