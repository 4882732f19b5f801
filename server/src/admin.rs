//! Administration shared by the admin CLI and the demo seed: organisation units, people,
//! enrolment codes, devices. Checks arguments once, here, before the store sees them.

use serde::Serialize;

use crate::identity;
use zhucun_model::{Role, UnitKind};

use crate::dashboard::View;
use crate::office::Office;
use crate::store::{DeviceInfo, NewPerson, PersonInfo, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("only an administrator may do this")]
    NotAdmin,
    #[error("unit `{0}` is outside your scope")]
    OutOfScope(String),
    #[error("no such {0} in your scope")]
    NotInScope(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] crate::blobs::BlobError),
}

/// Remove the complete attachments no record refers to that are older than `older_than`
/// (uploaded and never named by a record, or no longer named by any), with what recorded
/// their uploads: the serving process does it every few hours, `zhucun-server admin
/// collect-blobs` on demand. Candidates are judged against the records in batches, and a
/// blob is removed only if it is still that old when its batch is done.
pub async fn collect_blobs(
    store: &dyn Store,
    dir: std::sync::Arc<crate::blobs::BlobDir>,
    older_than: std::time::Duration,
) -> Result<crate::blobs::Collected, AdminError> {
    let d = dir.clone();
    let candidates = tokio::task::spawn_blocking(move || d.older_than(older_than))
        .await
        .map_err(|e| AdminError::Invalid(format!("listing attachments failed: {e}")))??;
    let mut done = crate::blobs::Collected::default();
    for batch in candidates.chunks(500) {
        let named = store.referenced_blobs(batch).await?;
        let (referenced, unreferenced): (Vec<String>, Vec<String>) =
            batch.iter().cloned().partition(|h| named.contains(h));
        let d = dir.clone();
        let c =
            tokio::task::spawn_blocking(move || d.collect(&unreferenced, &referenced, older_than))
                .await
                .map_err(|e| {
                    AdminError::Invalid(format!("collecting attachments failed: {e}"))
                })??;
        done.blobs += c.blobs;
        done.bytes += c.bytes;
    }
    Ok(done)
}

pub async fn add_unit(
    store: &dyn Store,
    id: &str,
    name: &str,
    kind: &str,
    parent: Option<&str>,
) -> Result<(), AdminError> {
    identity::check_id("unit", id).map_err(AdminError::Invalid)?;
    let kind: UnitKind = kind
        .parse()
        .map_err(|e: zhucun_model::rules::UnknownName| AdminError::Invalid(e.to_string()))?;
    let kind = kind.as_str();
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("unit name is required".into()));
    }
    if kind != "city" && parent.is_none() {
        return Err(AdminError::Invalid(format!("a {kind} needs --parent")));
    }
    store.add_unit(id, name.trim(), kind, parent).await?;
    Ok(())
}

pub async fn add_person(
    store: &dyn Store,
    id: &str,
    name: &str,
    role: &str,
    units: &[String],
    password: Option<&str>,
) -> Result<(), AdminError> {
    identity::check_id("person", id).map_err(AdminError::Invalid)?;
    let role: Role = role
        .parse()
        .map_err(|e: zhucun_model::rules::UnknownName| AdminError::Invalid(e.to_string()))?;
    if name.trim().is_empty() {
        return Err(AdminError::Invalid("person name is required".into()));
    }
    if units.is_empty() {
        return Err(AdminError::Invalid(
            "a person needs at least one --unit".into(),
        ));
    }
    // Each role is attached to its own kind of unit: a first secretary to a village, a
    // township officer to a township or street (the model's rule).
    let known = store.units().await?;
    for u in units {
        if let Some(unit) = known.iter().find(|x| x.id == *u) {
            let fits = unit
                .kind
                .parse::<UnitKind>()
                .is_ok_and(|k| role.may_hold(k));
            if !fits {
                return Err(AdminError::Invalid(format!(
                    "a {role} is attached to a {}, not to {} `{u}`",
                    role.unit_kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    unit.kind
                )));
            }
        }
    }
    let role = role.as_str();
    let password_hash = match password {
        Some(p) if p.chars().count() < 8 => {
            return Err(AdminError::Invalid(
                "an office password needs at least 8 characters".into(),
            ))
        }
        Some(p) => Some(identity::hash_password(p).map_err(AdminError::Invalid)?),
        None => None,
    };
    store
        .add_person(&NewPerson {
            id: id.into(),
            name: name.trim().into(),
            role: role.into(),
            units: units.to_vec(),
            password_hash,
        })
        .await?;
    Ok(())
}

/// Issue a one-time code for `person`, valid for `hours`; returns the code (shown once).
pub async fn issue_code(
    store: &dyn Store,
    person: &str,
    hours: u32,
    now: i64,
) -> Result<String, AdminError> {
    if store.person(person).await?.is_none() {
        return Err(AdminError::Invalid(format!("no person `{person}`")));
    }
    if hours == 0 || hours > 24 * 30 {
        return Err(AdminError::Invalid(
            "a code is valid for 1 hour to 30 days".into(),
        ));
    }
    let code = identity::new_code();
    store
        .add_code(
            &identity::hash_code(&code),
            person,
            now + i64::from(hours) * 3600,
        )
        .await?;
    Ok(code)
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoCode {
    pub code: String,
    pub person: String,
    pub name: String,
    pub role: String,
    pub scope: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoLogin {
    pub user: String,
    pub password: String,
    pub role: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSeed {
    pub codes: Vec<DemoCode>,
    pub logins: Vec<DemoLogin>,
}

/// The demo password of the demo organisation's office logins.
pub const DEMO_PASSWORD: &str = "zhucun-demo";

/// Seed the demo organisation into an empty database: one city, a township and a street,
/// villages, a community and a school, people of every role, codes and office logins.
pub async fn demo(store: &dyn Store, now: i64) -> Result<DemoSeed, AdminError> {
    if !store.units().await?.is_empty() {
        return Err(AdminError::Invalid(
            "the database already has an organisation: the demo seeds an empty one".into(),
        ));
    }
    let units: [(&str, &str, &str, Option<&str>); 8] = [
        ("city", "示范市", "city", None),
        ("chengguan", "城关镇", "township", Some("city")),
        ("dongcheng", "东城街道", "street", Some("city")),
        ("dongfeng", "东风村", "village", Some("chengguan")),
        ("xinhe", "新河村", "village", Some("chengguan")),
        ("school-1", "城关镇中心学校", "school", Some("chengguan")),
        ("hongqi", "红旗社区", "community", Some("dongcheng")),
        ("liuzhuang", "柳庄村", "village", Some("dongcheng")),
    ];
    for (id, name, kind, parent) in units {
        add_unit(store, id, name, kind, parent).await?;
    }
    let people: [(&str, &str, &str, &[&str], bool); 6] = [
        ("li-ming", "李明", "first_secretary", &["dongfeng"], false),
        ("chen-jing", "陈静", "first_secretary", &["hongqi"], false),
        (
            "zhang-hua",
            "张华",
            "instructor",
            &["xinhe", "school-1"],
            false,
        ),
        (
            "wang-qiang",
            "王强",
            "township_officer",
            &["chengguan"],
            true,
        ),
        ("zhao-min", "赵敏", "city_officer", &["city"], true),
        ("admin", "系统管理员", "admin", &["city"], true),
    ];
    let mut seed = DemoSeed {
        codes: Vec::new(),
        logins: Vec::new(),
    };
    for (id, name, role, scope, login) in people {
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        add_person(
            store,
            id,
            name,
            role,
            &scope,
            login.then_some(DEMO_PASSWORD),
        )
        .await?;
        let code = issue_code(store, id, 24 * 30, now).await?;
        seed.codes.push(DemoCode {
            code,
            person: id.into(),
            name: name.into(),
            role: role.into(),
            scope,
        });
        if login {
            seed.logins.push(DemoLogin {
                user: id.into(),
                password: DEMO_PASSWORD.into(),
                role: role.into(),
            });
        }
    }
    Ok(seed)
}

// --- The dashboard's administration: an administrator acts within their own scope. ---

/// The administrator's view of the organisation; anyone else is refused.
async fn admin_view(store: &dyn Store, o: &Office) -> Result<View, AdminError> {
    if !o.is_admin() {
        return Err(AdminError::NotAdmin);
    }
    Ok(View::new(store.units().await?, o.scope.clone()))
}

/// People whose units lie in the scope of `v`.
pub async fn people_in_scope(store: &dyn Store, v: &View) -> Result<Vec<PersonInfo>, StoreError> {
    Ok(store
        .people()
        .await?
        .into_iter()
        .filter(|p| p.units.iter().any(|u| v.sees_id(u)))
        .collect())
}

/// People an administrator may act for (issue codes, revoke devices): every unit they are
/// attached to lies in the administrator's scope. A person who also covers a unit outside it
/// is listed but not managed: a code issued for them would enrol a device that sees that unit.
async fn people_managed(store: &dyn Store, v: &View) -> Result<Vec<PersonInfo>, StoreError> {
    Ok(store
        .people()
        .await?
        .into_iter()
        .filter(|p| !p.units.is_empty() && p.units.iter().all(|u| v.sees_id(u)))
        .collect())
}

/// The units an administrator sees.
pub async fn units_for(
    store: &dyn Store,
    o: &Office,
) -> Result<Vec<crate::store::OrgUnit>, AdminError> {
    let v = admin_view(store, o).await?;
    Ok(v.units.iter().filter(|u| v.sees(u)).cloned().collect())
}

/// The people an administrator sees.
pub async fn people_for(store: &dyn Store, o: &Office) -> Result<Vec<PersonInfo>, AdminError> {
    let v = admin_view(store, o).await?;
    Ok(people_in_scope(store, &v).await?)
}

/// Add a unit under a parent in the administrator's scope.
pub async fn add_unit_for(
    store: &dyn Store,
    o: &Office,
    id: &str,
    name: &str,
    kind: &str,
    parent: Option<&str>,
) -> Result<(), AdminError> {
    let v = admin_view(store, o).await?;
    match parent.filter(|p| !p.is_empty()) {
        Some(p) if !v.sees_id(p) => Err(AdminError::OutOfScope(p.to_string())),
        None => Err(AdminError::Invalid(
            "a new unit needs a parent in your scope".into(),
        )),
        parent => {
            add_unit(store, id, name, kind, parent).await?;
            tracing::info!(by = %o.person.id, unit = %id, "unit added");
            Ok(())
        }
    }
}

/// Add a person attached to units in the administrator's scope.
pub async fn add_person_for(
    store: &dyn Store,
    o: &Office,
    id: &str,
    name: &str,
    role: &str,
    units: &[String],
    password: Option<&str>,
) -> Result<(), AdminError> {
    let v = admin_view(store, o).await?;
    if let Some(u) = units.iter().find(|u| !v.sees_id(u)) {
        return Err(AdminError::OutOfScope(u.clone()));
    }
    add_person(
        store,
        id,
        name,
        role,
        units,
        password.filter(|s| !s.is_empty()),
    )
    .await?;
    tracing::info!(by = %o.person.id, person = %id, "person added");
    Ok(())
}

/// An enrolment code issued from the dashboard (the code is shown once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct IssuedCode {
    pub code: String,
    pub person: String,
    pub name: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub expires_at: i64,
}

/// Issue an enrolment code for a person the administrator manages.
pub async fn issue_code_for(
    store: &dyn Store,
    o: &Office,
    person: &str,
    hours: u32,
    now: i64,
) -> Result<IssuedCode, AdminError> {
    let v = admin_view(store, o).await?;
    let p = people_managed(store, &v)
        .await?
        .into_iter()
        .find(|p| p.id == person)
        .ok_or(AdminError::NotInScope("person"))?;
    let code = issue_code(store, &p.id, hours, now).await?;
    tracing::info!(by = %o.person.id, person = %p.id, "enrolment code issued");
    Ok(IssuedCode {
        code,
        person: p.id,
        name: p.name,
        expires_at: now + i64::from(hours) * 3600,
    })
}

/// The QR code of an enrolment: the app's enrolment link with the server and the code, as SVG.
pub fn enrol_qr(server: &str, code: &str) -> Result<String, AdminError> {
    let link = format!("zhucun://enrol?server={server}&code={code}");
    let qr = qrcode::QrCode::new(link.as_bytes())
        .map_err(|e| AdminError::Store(StoreError::Backend(format!("QR code: {e}"))))?;
    Ok(qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// A device as the administrator's list shows it: with its person's name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct DeviceRow {
    #[serde(flatten)]
    pub device: DeviceInfo,
    pub person_name: String,
}

/// The devices of the people whose units lie in the scope of `v`, with their names.
pub async fn devices_in(store: &dyn Store, v: &View) -> Result<Vec<DeviceRow>, StoreError> {
    let names: std::collections::HashMap<String, String> = people_in_scope(store, v)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(store
        .devices()
        .await?
        .into_iter()
        .filter_map(|d| {
            let person_name = names.get(&d.person_id)?.clone();
            Some(DeviceRow {
                device: d,
                person_name,
            })
        })
        .collect())
}

/// The devices of the people the administrator sees.
pub async fn devices_for(store: &dyn Store, o: &Office) -> Result<Vec<DeviceRow>, AdminError> {
    let v = admin_view(store, o).await?;
    Ok(devices_in(store, &v).await?)
}

/// Revoke a device of a person the administrator manages.
pub async fn revoke_for(
    store: &dyn Store,
    o: &Office,
    device: &str,
    now: i64,
) -> Result<(), AdminError> {
    let v = admin_view(store, o).await?;
    let people = people_managed(store, &v).await?;
    let dev = store
        .devices()
        .await?
        .into_iter()
        .find(|d| d.id == device && people.iter().any(|p| p.id == d.person_id))
        .ok_or(AdminError::NotInScope("device"))?;
    store.revoke_device(&dev.id, now).await?;
    tracing::info!(by = %o.person.id, device = %dev.id, "device revoked");
    Ok(())
}
