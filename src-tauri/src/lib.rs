//! zhucun-app: the field app's Tauri 2 shell.
//!
//! Thin by design: commands take the state, call `zhucun-replica` or `zhucun-sync` and map
//! the error to `{kind, message}` in one place (`error.rs`). The UI is `ui/` (Svelte), built
//! into `ui/dist` and embedded. `run` is also the mobile entry point, so Android and iOS
//! targets can be initialised (`tauri android init`) where their SDKs exist.
//!
//! The data directory is `ZHUCUN_DATA_DIR` if set, else the platform's app data directory
//! (with `-dev` appended in debug builds, so trying a build never touches real records).

#[cfg(test)]
mod command_names;
mod commands;
pub mod dto;
pub mod error;
pub mod ops;
mod state;

use std::path::PathBuf;

use tauri::Manager;

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(d) = std::env::var_os("ZHUCUN_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    let mut dir = app.path().app_data_dir()?;
    if cfg!(debug_assertions) {
        let name = dir
            .file_name()
            .map(|n| format!("{}-dev", n.to_string_lossy()))
            .unwrap_or_else(|| "zhucun-dev".into());
        dir.set_file_name(name);
    }
    Ok(dir)
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = tauri::Builder::default()
        // Reminders as desktop notifications: sent by the UI from the device's own records.
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let dir = data_dir(app)?;
            std::fs::create_dir_all(&dir)?;
            app.manage(state::AppState::new(dir));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::enroll,
            commands::unlock,
            commands::lock,
            commands::forget_pin,
            commands::device,
            commands::home,
            commands::list_records,
            commands::search,
            commands::get_record,
            commands::save_record,
            commands::history,
            commands::add_photo,
            commands::photo,
            commands::save_file,
            commands::roster,
            commands::figures,
            commands::sync_now,
            commands::sync_status,
            commands::set_server,
            commands::keep_refused_words,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("zhucun: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    /// Every command has a permission in the capability file, and nothing else is granted
    /// but listening to events: the window can do what the app needs and no more.
    #[test]
    fn the_capability_grants_exactly_the_app_commands() {
        use crate::command_names as names;
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
        let mut granted: Vec<String> = cap["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        granted.sort();
        let mut expected: Vec<String> = names::ALL
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .chain([
                "core:event:allow-listen".into(),
                "core:event:allow-unlisten".into(),
                // Showing a reminder as a desktop notification, and nothing else of the plugin.
                "notification:allow-is-permission-granted".into(),
                "notification:allow-request-permission".into(),
                "notification:allow-notify".into(),
            ])
            .collect();
        expected.sort();
        assert_eq!(granted, expected);
    }
}
