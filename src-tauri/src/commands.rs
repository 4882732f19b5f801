//! The commands the UI calls: each takes the state, calls the replica or the sync crate and
//! maps the error. Nothing here decides anything a crate below could decide.

use std::time::Instant;

use serde_json::{Map, Value as Json};
use tauri::ipc::{InvokeBody, Request, Response};
use tauri::{AppHandle, Emitter, State};
use zhucun_model::Kind;
use zhucun_replica::pin::{DerivedKey, KdfParams, PinLock};
use zhucun_replica::{Filter, Replica};
use zhucun_sync::{HttpTransport, SyncOptions};

use crate::dto::*;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::ops;
use crate::state::{start_sync, AppState, Open};

fn parse_kind(k: &str) -> AppResult<Kind> {
    k.parse::<Kind>().map_err(AppError::from)
}

/// Start the background sync for `open`, telling the UI of every change (event `sync`).
fn attach_sync(app: &AppHandle, state: &AppState, open: &mut Open) {
    let handle = app.clone();
    // The event only says "the sync state changed": the UI asks `sync_status`, which counts
    // what is waiting on its own connection.
    let listener = Box::new(move |_: &zhucun_sync::background::Status| {
        let _ = handle.emit("sync", ());
    });
    match start_sync(&state.data_dir, open.key.key(), listener) {
        Ok(bg) => open.sync = Some(bg),
        Err(e) => eprintln!("zhucun: background sync did not start: {e}"),
    }
}

/// The PIN has been given: keep the replica open, start the background sync, describe the
/// device.
fn open_app(
    app: &AppHandle,
    state: &AppState,
    replica: Replica,
    key: DerivedKey,
) -> AppResult<DeviceInfo> {
    replica.leave_checkpoints_to_others()?;
    let mut open = Open {
        replica,
        key,
        sync: None,
    };
    attach_sync(app, state, &mut open);
    let info = ops::device_info(&open.replica, &state.data_dir)?;
    state.set_open(open);
    Ok(info)
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> AppResult<AppStatus> {
    let default_server = std::env::var("ZHUCUN_SERVER").unwrap_or_default();
    let default_code = std::env::var("ZHUCUN_CODE").unwrap_or_default();
    if state.is_open() {
        return Ok(AppStatus {
            phase: Phase::Unlocked,
            wait_secs: 0,
            failures: 0,
            default_server,
            default_code,
        });
    }
    if !PinLock::is_set(&state.data_dir) {
        return Ok(AppStatus {
            phase: Phase::FirstRun,
            wait_secs: 0,
            failures: 0,
            default_server,
            default_code,
        });
    }
    let lock = PinLock::load(&state.data_dir)?;
    Ok(AppStatus {
        phase: Phase::Locked,
        wait_secs: lock.wait_secs(),
        failures: lock.failures(),
        default_server,
        default_code,
    })
}

/// First run: create the replica under the PIN and enrol it with the one-time code. If the
/// enrolment fails, the new (empty) replica is removed so the next try starts clean.
#[tauri::command]
pub async fn enroll(
    app: AppHandle,
    state: State<'_, AppState>,
    server: String,
    code: String,
    pin: String,
) -> AppResult<DeviceInfo> {
    let server = server.trim().trim_end_matches('/').to_string();
    let transport = HttpTransport::new(&server).map_err(zhucun_sync::SyncError::from)?;
    if code.trim().is_empty() {
        return Err(AppError {
            field: Some("code".into()),
            reason: Some("required".into()),
            ..AppError::new(ErrorKind::Invalid, "the enrolment code is required")
        });
    }
    if PinLock::is_set(&state.data_dir) {
        return Err(AppError::new(
            ErrorKind::Storage,
            "this device is enrolled already",
        ));
    }
    PinLock::discard_unfinished(&state.data_dir)?;
    let dir = state.data_dir.clone();
    let created = tauri::async_runtime::spawn_blocking(move || {
        PinLock::create(&dir, &pin, KdfParams::default())
    })
    .await
    .map_err(|e| AppError::new(ErrorKind::Storage, e.to_string()))?;
    let (mut replica, key) = created?;
    let result = zhucun_sync::enroll(
        &mut replica,
        &transport,
        &server,
        code.trim(),
        &ops::device_name(),
    )
    .await;
    if let Err(e) = result {
        drop(replica);
        PinLock::discard_unfinished(&state.data_dir)?;
        return Err(e.into());
    }
    open_app(&app, &state, replica, key)
}

#[tauri::command]
pub async fn unlock(
    app: AppHandle,
    state: State<'_, AppState>,
    pin: String,
) -> AppResult<DeviceInfo> {
    let dir = state.data_dir.clone();
    let (replica, key) = tauri::async_runtime::spawn_blocking(move || {
        let mut lock = PinLock::load(&dir)?;
        lock.unlock(&pin)
    })
    .await
    .map_err(|e| AppError::new(ErrorKind::Storage, e.to_string()))??;
    open_app(&app, &state, replica, key)
}

#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> AppResult<()> {
    state.close();
    Ok(())
}

/// A forgotten PIN: the replica is set aside (kept, not deleted) and the app starts over.
#[tauri::command]
pub async fn forget_pin(state: State<'_, AppState>) -> AppResult<String> {
    state.close();
    let aside = PinLock::set_aside(&state.data_dir)?;
    Ok(aside.display().to_string())
}

#[tauri::command]
pub async fn device(state: State<'_, AppState>) -> AppResult<DeviceInfo> {
    state.with(|o| ops::device_info(&o.replica, &state.data_dir))
}

#[tauri::command]
pub async fn home(state: State<'_, AppState>) -> AppResult<Home> {
    state.with(|o| ops::home(&o.replica, chrono::Local::now().date_naive()))
}

#[tauri::command]
pub async fn list_records(state: State<'_, AppState>, query: ListQuery) -> AppResult<ListPage> {
    let filter = ops::filter(&query)?;
    state.with(|o| {
        let rows = o.replica.list(&filter)?;
        let total = o.replica.count(&filter)?;
        Ok(ListPage {
            rows: rows.into_iter().map(Row::from).collect(),
            total,
        })
    })
}

#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    text: String,
    kind: Option<String>,
) -> AppResult<SearchResult> {
    let kind = kind.as_deref().map(parse_kind).transpose()?;
    state.with(|o| {
        let t = Instant::now();
        let rows = o.replica.search(&text, kind, 200)?;
        Ok(SearchResult {
            rows: rows.into_iter().map(Row::from).collect(),
            micros: t.elapsed().as_micros() as u64,
        })
    })
}

#[tauri::command]
pub async fn get_record(state: State<'_, AppState>, id: String) -> AppResult<RecordView> {
    state.with(|o| {
        let r = o.replica.get(&id)?;
        let next_step = match r.kind {
            zhucun_model::Kind::Member => o.replica.next_step(&id)?,
            _ => None,
        };
        Ok(RecordView {
            id: r.id,
            kind: r.kind.as_str().into(),
            village: r.village,
            synced: r.synced,
            record: r.record,
            next_step,
        })
    })
}

/// Create (no `id` in `fields`) or edit a record; the background sync is told.
#[tauri::command]
pub async fn save_record(
    state: State<'_, AppState>,
    kind: String,
    fields: Map<String, Json>,
) -> AppResult<Saved> {
    let kind = parse_kind(&kind)?;
    state.with(|o| {
        let out = o.replica.put(kind, &fields)?;
        if out.changed {
            if let Some(bg) = &o.sync {
                bg.changed();
            }
        }
        Ok(Saved::from(out))
    })
}

#[tauri::command]
pub async fn history(state: State<'_, AppState>, id: String) -> AppResult<Vec<HistoryItem>> {
    state.with(|o| {
        Ok(o.replica
            .history(&id)?
            .into_iter()
            .map(|h| HistoryItem {
                hash: h.hash,
                person: h.person,
                device: h.device,
                device_time: h.device_time,
                fields: h.fields,
            })
            .collect())
    })
}

/// Store a photo sent as the raw request body (MIME type in the `x-mime` header).
#[tauri::command]
pub async fn add_photo(state: State<'_, AppState>, request: Request<'_>) -> AppResult<PhotoRef> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::new(
            ErrorKind::Invalid,
            "a photo must be sent as raw bytes",
        ));
    };
    let mime = request
        .headers()
        .get("x-mime")
        .and_then(|v| v.to_str().ok())
        .filter(|m| m.starts_with("image/"))
        .unwrap_or("image/jpeg")
        .to_string();
    state.with(|o| {
        let hash = o.replica.put_blob(bytes, &mime)?;
        Ok(PhotoRef {
            hash,
            name: String::new(),
            mime,
            size: bytes.len() as u64,
        })
    })
}

/// A photo's bytes; fetched from the server first if this device does not hold it yet.
#[tauri::command]
pub async fn photo(state: State<'_, AppState>, hash: String) -> AppResult<Response> {
    Ok(Response::new(blob_bytes(&state, &hash).await?))
}

/// Save an attachment (a file the township sent with a task) into the Downloads folder,
/// fetched from the server first if this device does not hold it yet; answers where it went.
#[tauri::command]
pub async fn save_file(
    app: AppHandle,
    state: State<'_, AppState>,
    hash: String,
    name: String,
) -> AppResult<String> {
    use tauri::Manager;
    let bytes = blob_bytes(&state, &hash).await?;
    // The desktop's Downloads folder; where the desktop names none, ~/Downloads, as the
    // button says.
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir().map(|h| h.join("Downloads")))
        .map_err(|e| AppError::new(ErrorKind::Storage, format!("no folder to save into: {e}")))?;
    let path = ops::save_into(&dir, &name, &hash, &bytes)?;
    Ok(path.display().to_string())
}

async fn blob_bytes(state: &State<'_, AppState>, hash: &str) -> AppResult<Vec<u8>> {
    let local = state.with(|o| {
        if o.replica.has_blob(hash)? {
            Ok(Some(o.replica.get_blob(hash)?))
        } else {
            Ok(None)
        }
    })?;
    if let Some(bytes) = local {
        return Ok(bytes);
    }
    let mut replica: Replica = state.second_connection()?;
    let link = replica
        .server()?
        .ok_or_else(|| AppError::new(ErrorKind::NotEnrolled, "no server"))?;
    let transport = HttpTransport::new(&link.url).map_err(zhucun_sync::SyncError::from)?;
    zhucun_sync::fetch_blob(&mut replica, &transport, hash, &SyncOptions::default()).await?;
    Ok(replica.get_blob(hash)?)
}

/// The village's party members, for picking attendees.
#[tauri::command]
pub async fn roster(state: State<'_, AppState>) -> AppResult<Vec<Row>> {
    state.with(|o| {
        Ok(o.replica
            .list(&Filter {
                kind: Some(Kind::Member),
                ..Default::default()
            })?
            .into_iter()
            .map(Row::from)
            .collect())
    })
}

/// The figures of a village's monthly report (`month` is `YYYY-MM`).
#[tauri::command]
pub async fn figures(
    state: State<'_, AppState>,
    village: String,
    month: String,
) -> AppResult<Json> {
    let (y, m) = zhucun_model::parse_month(&month).ok_or_else(|| AppError {
        field: Some("month".into()),
        reason: Some("format".into()),
        ..AppError::new(
            ErrorKind::Invalid,
            format!("`{month}` is not a month (YYYY-MM)"),
        )
    })?;
    state.with(|o| {
        let f = o.replica.monthly_figures(&village, y, m)?;
        serde_json::to_value(f).map_err(|e| AppError::new(ErrorKind::Storage, e.to_string()))
    })
}

#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> AppResult<()> {
    state.with(|o| {
        match &o.sync {
            Some(bg) => bg.sync_now(),
            None => return Err(AppError::new(ErrorKind::NotEnrolled, "sync is not running")),
        }
        Ok(())
    })
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> AppResult<SyncView> {
    state.with(|o| {
        let pending = o.replica.pending_count()?;
        let status = o.sync.as_ref().map(|b| b.status()).unwrap_or_default();
        let held_back = status
            .last
            .as_ref()
            .map(|l| &l.held_back[..])
            .unwrap_or(&[]);
        let held = held_back
            .iter()
            .take(HELD_SHOWN)
            .map(|h| held_view(&o.replica, h))
            .collect();
        let refused = o
            .replica
            .rejected()?
            .into_iter()
            .map(|(record, code, message)| {
                let row = o.replica.row(&record).ok().flatten();
                SyncRefused {
                    kind: row.as_ref().map(|r| r.kind.clone()).unwrap_or_default(),
                    title: row.map(|r| r.title).unwrap_or_default(),
                    record,
                    code,
                    message,
                }
            })
            .collect();
        Ok(SyncView::from_status(
            &status,
            pending,
            held,
            held_back.len(),
            refused,
        ))
    })
}

/// Keep the words of an edit the server refused, as notes on the record as the server holds
/// it (`Replica::keep_refused_words`); they go out with the next sync.
#[tauri::command]
pub async fn keep_refused_words(state: State<'_, AppState>, id: String) -> AppResult<Saved> {
    state.with(|o| {
        let out = o.replica.keep_refused_words(&id)?;
        if let Some(bg) = &o.sync {
            bg.changed();
        }
        Ok(Saved::from(out))
    })
}

/// A held-back record as the sync card names it: its title and the refused file's name.
/// A record that cannot be read is still listed, by the id and hash alone.
fn held_view(replica: &Replica, h: &zhucun_sync::HeldBack) -> SyncHeld {
    let row = replica.row(&h.record).ok().flatten();
    let attachment = replica.attachment_name(&h.record, &h.hash).ok().flatten();
    SyncHeld {
        record: h.record.clone(),
        kind: row.as_ref().map(|r| r.kind.clone()).unwrap_or_default(),
        title: row.map(|r| r.title).unwrap_or_default(),
        attachment: attachment.unwrap_or_else(|| h.hash.clone()),
        code: h.code.clone(),
    }
}

/// Point this device at another address of its server (the token stays).
#[tauri::command]
pub async fn set_server(state: State<'_, AppState>, url: String) -> AppResult<DeviceInfo> {
    let url = url.trim().trim_end_matches('/').to_string();
    HttpTransport::new(&url).map_err(zhucun_sync::SyncError::from)?;
    state.with(|o| {
        let mut link = o
            .replica
            .server()?
            .ok_or_else(|| AppError::new(ErrorKind::NotEnrolled, "not enrolled"))?;
        link.url = url.clone();
        o.replica.set_server(&link)?;
        if let Some(bg) = &o.sync {
            bg.sync_now();
        }
        ops::device_info(&o.replica, &state.data_dir)
    })
}
