//! The app's command names, shared by build.rs (one permission each) and the capability test.

pub const ALL: &[&str] = &[
    "app_status",
    "enroll",
    "unlock",
    "lock",
    "forget_pin",
    "device",
    "home",
    "list_records",
    "search",
    "get_record",
    "save_record",
    "history",
    "add_photo",
    "photo",
    "roster",
    "figures",
    "sync_now",
    "sync_status",
    "set_server",
    "keep_refused_words",
];
