//! Devices: enrolment with a one-time code (the device's token is minted here, and only its
//! hash is stored) and the device behind a token. No HTTP here (`http/device.rs` carries the
//! body and the `Authorization` header).

use zhucun_protocol::{EnrollRequest, EnrollResponse, OrgUnitInfo};

use crate::identity;
use crate::store::{units_in_scope, DeviceAuth, NewDevice, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{0}")]
    Malformed(String),
    #[error("an Authorization: Bearer token is required")]
    NoToken,
    #[error("the device token is not known")]
    BadToken,
    #[error("this device was revoked: enrol again with a new code")]
    Revoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeviceError {
    /// Whether the attempt counts as a failure towards the address's rate limit (a guessed
    /// token or code; not a missing header nor a server fault).
    pub fn is_guess(&self) -> bool {
        matches!(
            self,
            DeviceError::BadToken
                | DeviceError::Revoked
                | DeviceError::Store(
                    StoreError::CodeInvalid | StoreError::CodeUsed | StoreError::CodeExpired
                )
        )
    }
}

/// Enrol a device with a one-time code: the device gets a new random token (returned once),
/// its person's identity and role, and the units it may see.
pub async fn enrol(
    store: &dyn Store,
    req: &EnrollRequest,
    now: i64,
) -> Result<EnrollResponse, DeviceError> {
    if req.code.len() > 64 || req.device_name.chars().count() > 100 {
        return Err(DeviceError::Malformed(
            "code or device name too long".into(),
        ));
    }
    let token = identity::new_token();
    let device = NewDevice {
        id: identity::new_device_id(),
        name: if req.device_name.trim().is_empty() {
            "device".into()
        } else {
            req.device_name.trim().to_string()
        },
        token_hash: identity::hash_token(&token),
        created_at: now,
    };
    let person = store
        .redeem_code(&identity::hash_code(&req.code), now, &device)
        .await?;
    let scope = units_in_scope(store.units().await?, &person.units)
        .into_iter()
        .map(|u| OrgUnitInfo {
            id: u.id,
            name: u.name,
            kind: u.kind,
            parent: u.parent,
        })
        .collect();
    tracing::info!(device = %device.id, role = %person.role, "device enrolled");
    Ok(EnrollResponse {
        device_id: device.id,
        token,
        person_id: person.id,
        person_name: person.name,
        role: person.role,
        scope,
    })
}

/// The device a bearer token belongs to; a revoked device is refused.
pub async fn authenticate(
    store: &dyn Store,
    token: Option<&str>,
) -> Result<DeviceAuth, DeviceError> {
    let token = token.ok_or(DeviceError::NoToken)?;
    let dev = store
        .device_by_token(&identity::hash_token(token.trim()))
        .await?
        .ok_or(DeviceError::BadToken)?;
    if dev.revoked {
        return Err(DeviceError::Revoked);
    }
    Ok(dev)
}
