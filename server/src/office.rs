//! Office logins for the dashboard: password check with Argon2id, failed attempts that slow
//! down and then lock, sessions kept as hashes of random tokens, the CSRF token of a session,
//! and who may see what. No HTTP here (`http/office.rs` carries the cookie and the headers).

use std::time::Duration;

use serde::Serialize;

use crate::identity;
use crate::store::{LoginFailures, OfficeSession, OrgUnit, Person, Store, StoreError};

/// Failed logins in a row before the login locks.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked login stays locked.
pub const LOCK_SECS: i64 = 15 * 60;
/// A session ends this long after login whatever happens...
pub const SESSION_MAX_SECS: i64 = 12 * 3600;
/// ...and after this long without a request.
pub const SESSION_IDLE_SECS: i64 = 2 * 3600;
/// Whether a person of `role` may log in to the dashboard: the office (the model's rule).
fn logs_in(role: &str) -> bool {
    role.parse::<zhucun_model::Role>()
        .is_ok_and(zhucun_model::Role::is_office)
}

#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    #[error("wrong user or password")]
    BadLogin,
    #[error("too many failed logins: try again in {wait_secs} seconds")]
    Locked { wait_secs: i64 },
    #[error("not logged in")]
    NoSession,
    #[error("only an administrator may do this")]
    Forbidden,
    #[error("the request lacks this session's CSRF token")]
    Csrf,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A logged-in office person and what they may see.
#[derive(Debug, Clone)]
pub struct Office {
    pub person: Person,
    pub token_hash: String,
    pub csrf: String,
    /// Paths of the units the person is attached to: they see every unit below.
    pub scope: Vec<String>,
}

impl Office {
    pub fn is_admin(&self) -> bool {
        self.person.role == "admin"
    }

    pub fn require_admin(&self) -> Result<(), OfficeError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(OfficeError::Forbidden)
        }
    }

    /// Compare the token a request carries with the session's, in constant time.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), OfficeError> {
        use subtle::ConstantTimeEq;
        match sent {
            Some(s) if bool::from(s.as_bytes().ct_eq(self.csrf.as_bytes())) => Ok(()),
            _ => Err(OfficeError::Csrf),
        }
    }
}

/// What the browser learns about who is logged in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct SessionInfo {
    pub user: UserInfo,
    pub csrf: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[cfg_attr(
    test,
    derive(ts_rs::TS),
    ts(export, export_to = "../../dashboard/bindings/")
)]
pub struct UserInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = zhucun_model::Role)]
    pub role: String,
    pub units: Vec<String>,
}

impl From<&Office> for SessionInfo {
    fn from(o: &Office) -> SessionInfo {
        SessionInfo {
            user: UserInfo {
                id: o.person.id.clone(),
                name: o.person.name.clone(),
                role: o.person.role.clone(),
                units: o.person.units.clone(),
            },
            csrf: o.csrf.clone(),
        }
    }
}

/// Password checks running at once.
static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A hash that verifies nothing, so an unknown user costs the same time as a known one.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| identity::hash_password("no such user, no such password").unwrap_or_default())
}

/// The wait before answering after `failures` failures in a row: none for the first two, then
/// doubling from half a second.
pub fn failure_delay(failures: u32) -> Duration {
    if failures <= 2 {
        Duration::ZERO
    } else {
        Duration::from_millis(500u64 << (failures - 3).min(3))
    }
}

fn scope_of(units: &[OrgUnit], person: &Person) -> Vec<String> {
    units
        .iter()
        .filter(|u| person.units.contains(&u.id))
        .map(|u| u.path.clone())
        .collect()
}

/// Check a password and open a session: returns the cookie's token (shown to the browser only)
/// and the session. Failures count towards the lock; a lock holds even for the right password.
pub async fn login(
    store: &dyn Store,
    user: &str,
    password: &str,
    now: i64,
) -> Result<(String, Office), OfficeError> {
    // Ids are short; anything else cannot name a person (and is not stored as a key).
    let user: String = user.trim().chars().take(64).collect();
    let f = store.login_failures(&user).await?;
    if let Some(until) = f.locked_until {
        if until > now {
            return Err(OfficeError::Locked {
                wait_secs: until - now,
            });
        }
    }
    let person = store.person(&user).await?;
    let hash = match &person {
        Some(p) if logs_in(&p.role) => store.password_hash(&p.id).await?,
        _ => None,
    };
    let (pw, h) = (password.to_string(), hash.clone());
    // Each Argon2id check takes 19 MiB and a core for a moment: a burst of logins waits its
    // turn instead of taking every core and the memory with it. The turn lasts until the
    // answer is counted (so a later guess sees every earlier one), not through the wait.
    let slot = VERIFYING.acquire().await;
    let ok = tokio::task::spawn_blocking(move || {
        let phc = h.as_deref().unwrap_or_else(|| dummy_hash());
        identity::verify_password(&pw, phc)
    })
    .await
    .unwrap_or(false);
    let person = match (ok && hash.is_some(), person) {
        (true, Some(p)) => p,
        _ => {
            // Counted in the store in one statement: guesses arriving at once each get their
            // own count, and the one that reaches the limit locks.
            let next = store
                .add_login_failure(&user, MAX_FAILURES, now + LOCK_SECS)
                .await?;
            let locked = next.locked_until.filter(|until| *until > now);
            let failures = if locked.is_some() {
                MAX_FAILURES
            } else {
                next.failures
            };
            drop(slot);
            tokio::time::sleep(failure_delay(failures)).await;
            if let Some(until) = locked {
                return Err(OfficeError::Locked {
                    wait_secs: until - now,
                });
            }
            return Err(OfficeError::BadLogin);
        }
    };
    // Guesses that passed the check above before the lock closed wait their turn to be
    // verified; a right password among them must not open a locked login.
    let f = store.login_failures(&user).await?;
    if let Some(until) = f.locked_until.filter(|until| *until > now) {
        return Err(OfficeError::Locked {
            wait_secs: until - now,
        });
    }
    if f != LoginFailures::default() {
        store.clear_login_failures(&user).await?;
    }
    drop(slot);
    let token = identity::new_token();
    let s = OfficeSession {
        token_hash: identity::hash_token(&token),
        person_id: person.id.clone(),
        csrf: identity::new_token(),
        created_at: now,
        last_used: now,
    };
    store.add_session(&s).await?;
    store.prune_sessions(now - SESSION_IDLE_SECS).await?;
    let units = store.units().await?;
    Ok((
        token,
        Office {
            scope: scope_of(&units, &person),
            person,
            token_hash: s.token_hash,
            csrf: s.csrf,
        },
    ))
}

/// The office person behind a session cookie's token, if the session is alive.
pub async fn session(store: &dyn Store, token: &str, now: i64) -> Result<Office, OfficeError> {
    let hash = identity::hash_token(token);
    let s = store.session(&hash).await?.ok_or(OfficeError::NoSession)?;
    if now - s.created_at > SESSION_MAX_SECS || now - s.last_used > SESSION_IDLE_SECS {
        store.delete_session(&hash).await?;
        return Err(OfficeError::NoSession);
    }
    let person = store
        .person(&s.person_id)
        .await?
        .ok_or(OfficeError::NoSession)?;
    if !logs_in(&person.role) {
        return Err(OfficeError::NoSession);
    }
    // Touch at most once a minute: reads stay reads.
    if now - s.last_used >= 60 {
        store.touch_session(&hash, now).await?;
    }
    let units = store.units().await?;
    Ok(Office {
        scope: scope_of(&units, &person),
        person,
        token_hash: hash,
        csrf: s.csrf,
    })
}

pub async fn logout(store: &dyn Store, office: &Office) -> Result<(), OfficeError> {
    store.delete_session(&office.token_hash).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_wait_longer_and_longer_but_not_forever() {
        assert_eq!(failure_delay(1), Duration::ZERO);
        assert_eq!(failure_delay(2), Duration::ZERO);
        assert_eq!(failure_delay(3), Duration::from_millis(500));
        assert_eq!(failure_delay(4), Duration::from_millis(1000));
        assert_eq!(failure_delay(40), Duration::from_millis(4000));
    }
}
