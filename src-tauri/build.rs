//! Tauri's build step: embeds the configuration and generates one permission per app command,
//! so the capability file lists exactly the commands the UI may call.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(zhucun_commands::ALL)),
    )
    .expect("tauri build step");
}

#[path = "src/command_names.rs"]
mod zhucun_commands;
