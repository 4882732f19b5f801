//! Administration shared by the admin CLI and the demo seed: organisation units, people,
//! enrolment codes, devices. Checks arguments once, here, before the store sees them.

use serde::Serialize;

use crate::identity;
use zhucun_model::{Role, UnitKind};

use crate::store::{NewPerson, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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
