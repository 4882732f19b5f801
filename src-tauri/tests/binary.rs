//! The built app embeds the UI it was built with. (This integration test is also why `cargo
//! test --workspace` puts the `zhucun-app` binary where the WebDriver suite finds it.)

#[test]
fn the_app_binary_embeds_the_current_ui_build() {
    let index = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ui/dist/index.html"
    ))
    .expect("ui/dist/index.html: build the UI first (cd ui && npm run build)");
    let script = index
        .split('"')
        .find(|s| s.starts_with("/assets/index-") && s.ends_with(".js"))
        .expect("the built index.html names its script");
    let binary = std::fs::read(env!("CARGO_BIN_EXE_zhucun-app")).expect("the app binary");
    assert!(
        binary.windows(script.len()).any(|w| w == script.as_bytes()),
        "the app binary does not embed {script}: rebuild it after building the UI"
    );
}
