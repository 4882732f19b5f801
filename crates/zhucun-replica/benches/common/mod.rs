//! A replica of 10,000 realistic activities (and a roster), built once per bench process.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use zhucun_model::Kind;
use zhucun_replica::{Key, Replica};

pub const RECORDS: usize = 10_000;
pub const KEY: Key = Key::Raw([42u8; 32]);

const WORDS: &[&str] = &[
    "学习",
    "党章",
    "党课",
    "走访",
    "群众",
    "困难户",
    "集体经济",
    "茶叶",
    "合作社",
    "产业",
    "发展",
    "党员",
    "示范",
    "村委会",
    "会议",
    "讨论",
    "方案",
    "落实",
    "整改",
    "乡村振兴",
    "基层",
    "组织",
    "建设",
    "培训",
    "观摩",
    "交流",
    "留守",
    "老人",
    "儿童",
    "返乡青年",
    "道路",
    "水利",
    "活动场所",
    "改造",
    "资金",
    "村规民约",
    "环境",
    "整治",
    "文明",
    "家风",
];

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub fn sentence(rng: &mut StdRng, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join("")
}

pub fn activity(rng: &mut StdRng, n: usize) -> Map<String, Value> {
    let kinds = [
        "theme_party_day",
        "branch_committee_meeting",
        "party_group_meeting",
        "branch_member_meeting",
        "party_lecture",
        "other",
    ];
    let kind = kinds[rng.random_range(0..kinds.len())];
    let date = format!(
        "{}-{:02}-{:02}",
        rng.random_range(2024..=2026),
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    );
    let mut m = obj(json!({
        "activity_kind": kind,
        "date": date,
        "topic": format!("{} {n}", sentence(rng, 3)),
        "place": "村委会会议室",
        "summary": sentence(rng, 40),
        "follow_ups": [{"text": sentence(rng, 4), "done": false}],
        "other_attendees": rng.random_range(0..20),
    }));
    if kind == "party_lecture" {
        m.insert("lecturer".into(), json!("王老师"));
    }
    m
}

/// Build the replica in `dir` (10,000 activities, 40 members).
pub fn build(dir: &std::path::Path) -> Replica {
    let mut r = Replica::open(dir, &KEY).expect("open");
    r.set_profile(None, "bench", "first_secretary", &["v1".into()])
        .expect("profile");
    let mut rng = StdRng::seed_from_u64(7);
    let members: Vec<Map<String, Value>> = (0..40)
        .map(|i| obj(json!({"name": format!("党员{i}"), "gender": if i % 2 == 0 {"female"} else {"male"}})))
        .collect();
    r.put_many(Kind::Member, &members).expect("members");
    let batch: Vec<Map<String, Value>> = (0..RECORDS).map(|n| activity(&mut rng, n)).collect();
    for chunk in batch.chunks(500) {
        r.put_many(Kind::Activity, chunk).expect("activities");
    }
    r
}
