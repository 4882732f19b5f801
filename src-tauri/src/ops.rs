//! The little the app computes itself, over the replica: the home screen, list filters, the
//! device's description. Kept apart from the commands so it is tested without a window.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use zhucun_model::kinds::{enum_name, ReportState, TaskStatus};
use zhucun_model::{due, parse_date, Due, InvalidField, Kind, ModelError, Month, DUE_SOON_DAYS};
use zhucun_replica::{Filter, Replica};

use crate::dto::{DeviceInfo, Home, KindCount, ListQuery, Row, Unit, VillageCalendar};
use crate::error::{AppError, AppResult};

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// How this device names itself to the server at enrolment.
pub fn device_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "device".into());
    format!("zhucun app on {host}")
}

pub fn device_info(r: &Replica, dir: &Path) -> AppResult<DeviceInfo> {
    let p = r.profile();
    let names = r.unit_names()?;
    let villages = p
        .scope
        .iter()
        .map(|id| Unit {
            id: id.clone(),
            name: names
                .iter()
                .find(|(k, _)| k == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| id.clone()),
        })
        .collect();
    Ok(DeviceInfo {
        person: p.person.clone(),
        person_name: r.person_name()?.unwrap_or_else(|| p.person.clone()),
        role: p.role.clone(),
        device: p.device.clone(),
        server_url: r.server()?.map(|l| l.url),
        villages,
        data_dir: dir.display().to_string(),
    })
}

/// A list query as a replica filter; the month becomes a date range.
pub fn filter(q: &ListQuery) -> AppResult<Filter> {
    let kind = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(|k| k.parse::<Kind>())
        .transpose()
        .map_err(AppError::from)?;
    let (from, to) = match q.month.as_deref().filter(|m| !m.is_empty()) {
        None => (None, None),
        Some(m) => {
            let m: Month = m.parse().map_err(|e: InvalidField| AppError {
                reason: Some("format".into()),
                ..AppError::from(ModelError::from(e))
            })?;
            (Some(ymd(m.first())), Some(ymd(m.last())))
        }
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.is_empty());
    Ok(Filter {
        kind,
        village: nonempty(&q.village),
        from,
        to,
        sub_kind: nonempty(&q.sub_kind),
        status: nonempty(&q.status),
        unsynced_only: q.unsynced.unwrap_or(false),
        limit: Some(q.limit.unwrap_or(100).clamp(1, 500)),
        offset: q.offset.unwrap_or(0),
    })
}

fn rows(r: &Replica, f: Filter) -> AppResult<Vec<Row>> {
    Ok(r.list(&f)?.into_iter().map(Row::from).collect())
}

/// The home screen: today's activities, open tasks due soon and overdue, unsubmitted
/// reports, and what has not reached the server.
pub fn home(r: &Replica, today: NaiveDate) -> AppResult<Home> {
    let day = ymd(today);
    let soon = ymd(today + Duration::days(DUE_SOON_DAYS.into()));
    let today_activities = rows(
        r,
        Filter {
            kind: Some(Kind::Activity),
            from: Some(day.clone()),
            to: Some(day.clone()),
            limit: Some(50),
            ..Default::default()
        },
    )?;
    let mut due_soon = Vec::new();
    let mut overdue = Vec::new();
    for status in TaskStatus::ALL.into_iter().filter(|s| s.is_open()) {
        let open_tasks = rows(
            r,
            Filter {
                kind: Some(Kind::Task),
                status: Some(enum_name(&status)),
                to: Some(soon.clone()),
                limit: Some(200),
                ..Default::default()
            },
        )?;
        for t in open_tasks {
            match due(true, t.date.as_deref().and_then(parse_date), today) {
                Due::Overdue => overdue.push(t),
                Due::Soon => due_soon.push(t),
                _ => {}
            }
        }
    }
    // Soonest first.
    due_soon.sort_by(|a, b| a.date.cmp(&b.date));
    overdue.sort_by(|a, b| a.date.cmp(&b.date));
    let mut drafts = Vec::new();
    for state in ReportState::ALL.into_iter().filter(|s| s.open_to_village()) {
        drafts.extend(rows(
            r,
            Filter {
                kind: Some(Kind::Report),
                status: Some(enum_name(&state)),
                limit: Some(24),
                ..Default::default()
            },
        )?);
    }
    // The calendar of the villages a field device covers; an office device covers none.
    let field = r
        .profile()
        .role
        .parse::<zhucun_model::Role>()
        .is_ok_and(|role| role.is_field());
    let villages: Vec<String> = if field {
        r.profile().scope.clone()
    } else {
        Vec::new()
    };
    let mut party_life = Vec::new();
    for village in &villages {
        party_life.push(VillageCalendar {
            village: village.clone(),
            items: r.party_life(village, today)?,
        });
    }
    Ok(Home {
        reminders: r.reminders(today, &villages)?,
        party_life,
        today: day,
        today_activities,
        due_soon,
        overdue,
        drafts,
        pending: r.pending_count()?,
        counts: r
            .counts()?
            .into_iter()
            .map(|(kind, count)| KindCount { kind, count })
            .collect(),
    })
}

/// Write an attachment into `dir` under the name it was sent with (its last path part only,
/// so a name cannot reach outside `dir`), never over a file that is there: a second copy
/// gets the start of its hash before the name. Answers the path written.
pub fn save_into(dir: &Path, name: &str, hash: &str, bytes: &[u8]) -> AppResult<PathBuf> {
    let base = Path::new(name.trim())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| hash.chars().take(12).collect());
    std::fs::create_dir_all(dir)?;
    let mut path = dir.join(&base);
    if path.exists() {
        let short: String = hash.chars().take(8).collect();
        path = dir.join(format!("{short}-{base}"));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::{json, Map, Value};
    use zhucun_replica::Key;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn replica(dir: &Path) -> Replica {
        let mut r = Replica::open(dir, &Key::Raw([9; 32])).unwrap();
        r.set_profile(None, "li-ming", "first_secretary", &["dongfeng".into()])
            .unwrap();
        r
    }

    #[test]
    fn home_shows_overdue_and_soon_due_tasks_today_and_unsubmitted_reports() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = replica(dir.path());
        let task = |title: &str, deadline: &str, status: &str| {
            obj(
                json!({"title": title, "issuer": "chengguan", "deadline": deadline,
                       "status": status, "assigned_villages": ["dongfeng"]}),
            )
        };
        // The township issues the tasks (pulled to the village's device in real life).
        r.set_profile(None, "wang-qiang", "township_officer", &["dongfeng".into()])
            .unwrap();
        r.put(Kind::Task, &task("报送党员信息", "2026-11-20", "open"))
            .unwrap();
        r.put(
            Kind::Task,
            &task("整改活动场所", "2026-11-30", "in_progress"),
        )
        .unwrap();
        r.put(Kind::Task, &task("年底总结", "2027-01-31", "open"))
            .unwrap();
        r.put(Kind::Task, &task("已办完", "2026-11-01", "done"))
            .unwrap();
        r.set_profile(None, "li-ming", "first_secretary", &["dongfeng".into()])
            .unwrap();
        r.put(
            Kind::Activity,
            &obj(
                json!({"activity_kind": "household_visit", "date": "2026-11-25",
                        "topic": "走访困难户", "household": "张家"}),
            ),
        )
        .unwrap();
        r.put(
            Kind::Activity,
            &obj(
                json!({"activity_kind": "party_lecture", "date": "2026-10-09",
                        "topic": "学习党章", "lecturer": "李明"}),
            ),
        )
        .unwrap();
        r.put(Kind::Report, &obj(json!({"month": "2026-10"})))
            .unwrap();
        let h = home(&r, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()).unwrap();
        // The calendar: the quarter's lecture is held, this month's committee meeting is due.
        assert_eq!(h.party_life.len(), 1);
        assert_eq!(h.party_life[0].village, "dongfeng");
        let due: Vec<String> = h.party_life[0]
            .items
            .iter()
            .filter(|i| i.due)
            .map(|i| enum_name(&i.activity_kind))
            .collect();
        assert!(
            due.contains(&"branch_committee_meeting".to_string()),
            "{due:?}"
        );
        assert!(!due.contains(&"party_lecture".to_string()), "{due:?}");
        // Reminders from the records alone: the overdue task; not one due in five days.
        let reminded: Vec<(String, String)> = h
            .reminders
            .iter()
            .map(|m| (enum_name(&m.kind), m.title.clone()))
            .collect();
        assert!(
            reminded.contains(&("task_overdue".into(), "报送党员信息".into())),
            "{reminded:?}"
        );
        assert!(
            !reminded.iter().any(|r| r.1 == "整改活动场所"),
            "{reminded:?}"
        );
        let titles = |v: &[Row]| v.iter().map(|t| t.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(&h.overdue), ["报送党员信息"]);
        assert_eq!(titles(&h.due_soon), ["整改活动场所"]);
        assert_eq!(titles(&h.today_activities), ["走访困难户"]);
        assert_eq!(h.drafts.len(), 1);
        assert_eq!(h.pending, 7, "nothing has reached a server");
    }

    #[test]
    fn a_month_filter_covers_the_whole_month_and_a_bad_month_names_the_field() {
        let f = filter(&ListQuery {
            kind: Some("activity".into()),
            month: Some("2026-02".into()),
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.from.as_deref(), Some("2026-02-01"));
        assert_eq!(f.to.as_deref(), Some("2026-02-28"));
        assert_eq!(f.limit, Some(500), "pages are bounded");
        let e = filter(&ListQuery {
            month: Some("二月".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("month"));
        let e = filter(&ListQuery {
            kind: Some("meeting".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
    }

    #[test]
    fn a_saved_file_stays_in_its_folder_and_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let h = "ab".repeat(32);
        let p = save_into(d.path(), "../../etc/通知.docx", &h, b"one").unwrap();
        assert_eq!(p, d.path().join("通知.docx"));
        let again = save_into(d.path(), "通知.docx", &h, b"two").unwrap();
        assert_eq!(again, d.path().join("abababab-通知.docx"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let unnamed = save_into(d.path(), " ", &h, b"x").unwrap();
        assert_eq!(unnamed, d.path().join("abababababab"));
    }
}
