//! `zhucun walkthrough`: a newcomer's first look. Builds a demo replica (the village 东风村
//! of a demo township), records a month of work in it and shows what the tool answers.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::{json, Map, Value};
use zhucun_model::Kind;
use zhucun_replica::{Filter, Key, Replica};

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn step(title: &str) {
    println!("\n== {title}");
}

pub fn run(data_dir: Option<PathBuf>) -> Result<()> {
    let dir = match data_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("zhucun-demo-{}", std::process::id())),
    };
    let key = std::env::var("ZHUCUN_KEY").unwrap_or_else(|_| "demo-key".into());
    println!(
        "驻村 zhucun walkthrough: a demo replica in {}",
        dir.display()
    );
    println!("(key: $ZHUCUN_KEY, or `demo-key` when unset; try the commands shown below on it)");
    let mut r = Replica::open(&dir, &Key::Passphrase(key))?;
    r.set_profile(
        None,
        "李明（第一书记）",
        "first_secretary",
        &["dongfeng".into()],
    )?;

    step("1. The village profile and the roster");
    r.put(
        Kind::Village,
        &obj(
            json!({"name": "东风村", "township": "城关镇", "households": 312,
        "population": 1150, "feature": "有机茶叶"}),
        ),
    )?;
    let wang = r.put(
        Kind::Member,
        &obj(
            json!({"name": "王秀英", "gender": "female", "birth_date": "1968-04-02",
        "stage": "full", "full_on": "1995-07-01", "category": "resident"}),
        ),
    )?;
    let zhao = r.put(
        Kind::Member,
        &obj(json!({"name": "赵强", "gender": "male", "stage": "full",
        "full_on": "2001-07-01", "category": "migrant"})),
    )?;
    r.put(
        Kind::Member,
        &obj(
            json!({"name": "陈静", "gender": "female", "stage": "probationary",
        "applied_on": "2025-01-10", "activist_on": "2025-03-01", "target_on": "2025-11-01",
        "probationary_on": "2026-05-01", "priority_groups": ["returning_youth"]}),
        ),
    )?;
    println!("3 members; `zhucun list member` shows them");

    step("2. A month of work");
    r.put(
        Kind::Activity,
        &obj(
            json!({"activity_kind": "party_lecture", "date": "2026-05-08",
        "topic": "党课：学习新修订的党章", "lecturer": "李明", "place": "村委会会议室",
        "attendees": [wang.id, zhao.id], "summary": "集中学习党章，讨论如何发挥党员示范作用。",
        "follow_ups": [{"text": "整理学习笔记", "due": "2026-05-15", "done": false}]}),
        ),
    )?;
    r.put(
        Kind::Activity,
        &obj(
            json!({"activity_kind": "branch_committee_meeting", "date": "2026-05-12",
        "topic": "支委会：研究茶叶合作社分红方案", "host": "王秀英"}),
        ),
    )?;
    r.put(
        Kind::Activity,
        &obj(
            json!({"activity_kind": "household_visit", "date": "2026-05-20",
        "topic": "走访留守老人", "household": "张大爷家", "summary": "了解生活困难，协调送医。"}),
        ),
    )?;
    r.put(
        Kind::Project,
        &obj(
            json!({"project_kind": "activity_venue", "name": "村级活动场所改造",
        "status": "in_progress", "funds_planned": 150000, "funds_allocated": 100000,
        "funds_raised": 20500, "progress": 60,
        "milestones": [{"title": "主体完工", "due": "2026-06-30"}]}),
        ),
    )?;
    for row in r.list(&Filter {
        kind: Some(Kind::Activity),
        ..Default::default()
    })? {
        println!("  {}  {}", row.date.unwrap_or_default(), row.title);
    }

    step("3. Search finds two-character words: 党课");
    for row in r.search("党课", None, 10)? {
        println!("  {}  {}", row.kind, row.title);
    }

    step("4. The monthly report fills its figures from the records");
    let rep = r.put(
        Kind::Report,
        &obj(json!({"month": "2026-05", "narrative": "五月开展党课一次、支委会一次，走访一户。"})),
    )?;
    let figures = r.get(&rep.id)?.record["figures"].clone();
    println!(
        "  activities: {}  three meetings one lesson complete: {}",
        figures["activities_total"], figures["three_meetings_one_lesson"]["complete"]
    );
    println!(
        "  developed this year: {} of target {} (women {}%)",
        figures["development"]["developed"],
        figures["development"]["target"],
        figures["development"]["women_percent"]
    );

    step("5. History: who changed what");
    let mut edit = Map::new();
    edit.insert("id".into(), json!(rep.id));
    edit.insert("state".into(), json!("submitted"));
    r.put(Kind::Report, &edit)?;
    for e in r.history(&rep.id)? {
        println!(
            "  {} changed {}",
            e.person.unwrap_or_default(),
            e.fields.join(", ")
        );
    }

    step("Next");
    println!(
        "  export ZHUCUN_DATA_DIR={} ZHUCUN_KEY=demo-key",
        dir.display()
    );
    println!("  zhucun list activity --month 2026-05");
    println!("  zhucun search 走访 --json");
    println!("  echo '{{\"activity_kind\":\"theme_party_day\",\"date\":\"2026-05-28\",\"topic\":\"主题党日\"}}' | zhucun put activity");
    println!("  zhucun table export member --format xlsx -o roster.xlsx");
    Ok(())
}
