//! The dashboard's tables as files: XLSX (rust_xlsxwriter) and CSV (UTF-8 with a byte-order
//! mark, so spreadsheet programs read the Chinese). Headers are Chinese unless English is asked
//! for. Each table is built from the same answer the page shows (`dashboard.rs`).

use rust_xlsxwriter::{Format, Workbook};
use zhucun_model::kinds::{enum_name, ActivityKind};

use chrono::NaiveDate;

use crate::dashboard::{
    self, DashError, InspectionItem, MatrixRow, Month, Overview, PipelineItem, Roster,
    TimelineItem, View,
};
use crate::office::Office;
use crate::store::{PersonInfo, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("spreadsheet: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("csv: {0}")]
    Csv(String),
    #[error("export: {0}")]
    Task(String),
    #[error(
        "no such table (overview, reports, inspections, activities, members, devices, people)"
    )]
    NoTable,
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("only an administrator may do this")]
    NotAdmin,
    #[error(transparent)]
    Dash(#[from] DashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tables a dashboard export can be asked for (`activities` and `members` per village,
/// `devices` and `people` for administrators).
pub const TABLES: [&str; 7] = [
    "overview",
    "reports",
    "inspections",
    "activities",
    "members",
    "devices",
    "people",
];
/// The file formats of an export.
pub const FORMATS: [&str; 2] = ["xlsx", "csv"];

/// What a dashboard export asks for: `TABLE.xlsx` or `TABLE.csv`, of a month, of one village
/// (activities, members) or one township of the asker's scope.
pub struct FileQuery<'a> {
    pub file: &'a str,
    pub month: Month,
    pub village: Option<&'a str>,
    pub township: Option<&'a str>,
    pub lang: Lang,
    pub today: NaiveDate,
    pub now: i64,
}

/// An export file, ready to send.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    /// Holds only ids (checked in scope), a table name and a month.
    pub name: String,
}

/// Build the file an office person asks for, from the same answers the dashboard shows,
/// within their scope (and the township filter, intersected with it).
pub async fn file(
    store: &dyn Store,
    o: &Office,
    q: &FileQuery<'_>,
) -> Result<ExportFile, ExportError> {
    const ASK: &str = "ask for TABLE.xlsx or TABLE.csv";
    let (table, ext) = q
        .file
        .rsplit_once('.')
        .ok_or(ExportError::BadRequest(ASK))?;
    let t = table_of(store, o, table, q).await?;
    if !FORMATS.contains(&ext) {
        return Err(ExportError::BadRequest(ASK));
    }
    let lang = q.lang;
    let (bytes, mime) = if ext == "xlsx" {
        let bytes = tokio::task::spawn_blocking(move || t.xlsx(lang))
            .await
            .map_err(|e| ExportError::Task(e.to_string()))??;
        (
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    } else {
        (t.csv(lang)?, "text/csv; charset=utf-8")
    };
    let month = q.month.to_string();
    let name = match (q.village, q.township) {
        (Some(v), _) if table == "activities" || table == "members" => {
            format!("zhucun-{table}-{v}-{month}.{ext}")
        }
        (_, Some(t)) => format!("zhucun-{table}-{t}-{month}.{ext}"),
        _ => format!("zhucun-{table}-{month}.{ext}"),
    };
    Ok(ExportFile { bytes, mime, name })
}

async fn table_of(
    store: &dyn Store,
    o: &Office,
    table: &str,
    q: &FileQuery<'_>,
) -> Result<Table, ExportError> {
    let v = View::new(store.units().await?, o.scope.clone());
    let v = match q.township {
        Some(t) => v.within_township(t)?,
        None => v,
    };
    let (lang, month) = (q.lang, q.month);
    Ok(match table {
        "overview" => overview(
            &dashboard::overview(store, &v, month, q.today, q.now).await?,
            lang,
        ),
        "reports" => {
            let (months, rows) = dashboard::report_matrix(store, &v, month).await?;
            report_matrix(&months, &rows, lang)
        }
        "inspections" => inspections(&dashboard::inspections(store, &v).await?, lang),
        "activities" | "members" => {
            let id = q
                .village
                .ok_or(ExportError::BadRequest("this table needs ?village="))?;
            let page = dashboard::village_page(store, &v, id, month, q.today, q.now).await?;
            if table == "activities" {
                activities(&page.timeline, lang)
            } else {
                members(&page.roster, &page.pipeline, lang)
            }
        }
        "devices" | "people" if !o.is_admin() => return Err(ExportError::NotAdmin),
        "devices" => devices(&crate::admin::devices_in(store, &v).await?, lang),
        "people" => people(&crate::admin::people_in_scope(store, &v).await?, lang),
        _ => return Err(ExportError::NoTable),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<u32> for Cell {
    fn from(n: u32) -> Cell {
        Cell::Num(n.into())
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Cell {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

/// A table with headers in both languages.
#[derive(Debug, Clone)]
pub struct Table {
    /// Sheet name and file name stem.
    pub name: &'static str,
    pub headers: Vec<(String, String)>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Table {
    fn header_row(&self, lang: Lang) -> Vec<&str> {
        self.headers
            .iter()
            .map(|(zh, en)| {
                if lang == Lang::Zh {
                    zh.as_str()
                } else {
                    en.as_str()
                }
            })
            .collect()
    }

    pub fn csv(&self, lang: Lang) -> Result<Vec<u8>, ExportError> {
        let mut out = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            let e = |e: csv::Error| ExportError::Csv(e.to_string());
            w.write_record(self.header_row(lang)).map_err(e)?;
            for r in &self.rows {
                w.write_record(r.iter().map(|c| match c {
                    Cell::Text(s) => csv_safe(s),
                    Cell::Num(n) => n.to_string(),
                    Cell::Empty => String::new(),
                }))
                .map_err(e)?;
            }
            w.flush().map_err(|e| ExportError::Csv(e.to_string()))?;
        }
        Ok(out)
    }

    pub fn xlsx(&self, lang: Lang) -> Result<Vec<u8>, ExportError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(self.name)?;
        let bold = Format::new().set_bold();
        for (c, h) in self.header_row(lang).into_iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
            ws.set_column_width(c as u16, (h.chars().count() as f64 * 2.2).max(10.0))?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = (r + 1) as u32;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c as u16, s)?;
                    }
                    Cell::Num(n) => {
                        ws.write_number(r, c as u16, *n)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(wb.save_to_buffer()?)
    }
}

/// A text cell a spreadsheet would run as a formula is quoted (CSV injection).
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn yes_no(b: bool, lang: Lang) -> Cell {
    match (b, lang) {
        (true, Lang::Zh) => "是".into(),
        (false, Lang::Zh) => "否".into(),
        (true, Lang::En) => "yes".into(),
        (false, Lang::En) => "no".into(),
    }
}

/// Names of states and kinds in the sheet's language.
pub fn label(key: &str, lang: Lang) -> String {
    let zh = match key {
        "missing" => "未报",
        // A draft has not left the village: it reads as not submitted.
        "draft" => "草稿（未提交）",
        "submitted" => "已提交",
        "returned" => "已退回",
        "accepted" => "已通过",
        "quarterly_inspection" => "季度检查",
        "annual_evaluation" => "年度互评",
        "excellent" => "好",
        "good" => "较好",
        "fair" => "一般",
        "poor" => "差",
        "applicant" => "入党申请人",
        "activist" => "入党积极分子",
        "development_target" => "发展对象",
        "probationary" => "预备党员",
        "full" => "正式党员",
        _ => match key.parse::<zhucun_model::Role>() {
            Ok(role) => role.label_zh(),
            Err(_) => {
                return ActivityKind::ALL
                    .iter()
                    .find(|k| enum_name(*k) == key)
                    .map(|k| match lang {
                        Lang::Zh => k.label_zh().to_string(),
                        Lang::En => key.replace('_', " "),
                    })
                    .unwrap_or_else(|| key.to_string())
            }
        },
    };
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En if key == "draft" => "draft (not submitted)".to_string(),
        Lang::En => key.replace('_', " "),
    }
}

fn date_time(t: Option<i64>) -> Cell {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
                .into()
        })
        .unwrap_or(Cell::Empty)
}

/// The activity kinds of the overview's columns: every kind this version knows, in the
/// catalog's order, then any kind a newer app recorded, by name.
fn overview_kinds(o: &Overview) -> Vec<String> {
    let mut kinds: Vec<String> = ActivityKind::ALL.iter().map(enum_name).collect();
    let mut extra: Vec<&String> = o
        .villages
        .iter()
        .flat_map(|r| r.activities.keys())
        .filter(|k| !kinds.contains(k))
        .collect();
    extra.sort();
    extra.dedup();
    kinds.extend(extra.into_iter().cloned());
    kinds
}

pub fn overview(o: &Overview, lang: Lang) -> Table {
    let kinds = overview_kinds(o);
    let rows = o
        .villages
        .iter()
        .map(|r| {
            let mut row: Vec<Cell> = vec![
                r.township_name.clone().into(),
                r.name.clone().into(),
                date_time(r.last_sync),
                r.last_sync_days
                    .map(|d| Cell::Num(d as f64))
                    .unwrap_or(Cell::Empty),
                r.activities_total.into(),
            ];
            row.extend(
                kinds
                    .iter()
                    .map(|k| Cell::from(r.activities.get(k).copied().unwrap_or(0))),
            );
            row.extend([
                r.tmol.branch_committee_meetings.into(),
                r.tmol.party_group_meetings.into(),
                r.tmol.branch_member_meetings_quarter.into(),
                r.tmol.party_lectures_quarter.into(),
                yes_no(r.tmol.complete, lang),
                label(r.report.as_str(), lang).into(),
                r.developed.into(),
                r.target.into(),
                r.women.into(),
                r.women_percent.into(),
                r.venue_progress.map(Cell::from).unwrap_or(Cell::Empty),
                r.overdue_tasks.into(),
            ]);
            row
        })
        .collect();
    let mut headers = hdr(&[
        ("乡镇（街道）", "Township"),
        ("村（社区）", "Village"),
        ("最近同步", "Last sync"),
        ("未同步天数", "Days since sync"),
        ("本月活动", "Activities this month"),
    ]);
    headers.extend(kinds.iter().map(|k| {
        (
            format!("本月活动：{}", label(k, Lang::Zh)),
            format!("Activities this month: {}", label(k, Lang::En)),
        )
    }));
    headers.extend(hdr(&[
        ("支委会", "Committee meetings"),
        ("党小组会", "Group meetings"),
        ("本季度支部党员大会", "Member meetings (quarter)"),
        ("本季度党课", "Party lectures (quarter)"),
        ("三会一课完成", "Three meetings and one lesson"),
        ("月报状态", "Monthly report"),
        ("本年发展党员", "Developed this year"),
        ("发展目标", "Target"),
        ("本年发展女党员", "Women developed this year"),
        ("女性占比（%）", "Women (%)"),
        ("活动场所建设进度（%）", "Venue progress (%)"),
        ("逾期任务", "Overdue tasks"),
    ]));
    Table {
        name: "overview",
        headers,
        rows,
    }
}

pub fn report_matrix(months: &[String], rows: &[MatrixRow], lang: Lang) -> Table {
    let mut headers = hdr(&[("乡镇（街道）", "Township"), ("村（社区）", "Village")]);
    headers.extend(months.iter().map(|m| (m.clone(), m.clone())));
    Table {
        name: "reports",
        headers,
        rows: rows
            .iter()
            .map(|r| {
                let mut v: Vec<Cell> = vec![r.township_name.clone().into(), r.name.clone().into()];
                v.extend(r.states.iter().map(|s| Cell::from(label(s.as_str(), lang))));
                v
            })
            .collect(),
    }
}

fn hdr(h: &[(&str, &str)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(z, e)| (z.to_string(), e.to_string()))
        .collect()
}

pub fn inspections(items: &[InspectionItem], lang: Lang) -> Table {
    Table {
        name: "inspections",
        headers: hdr(&[
            ("乡镇（街道）", "Township"),
            ("村（社区）", "Village"),
            ("检查类型", "Kind"),
            ("期间", "Period"),
            ("检查日期", "Date"),
            ("得分", "Score"),
            ("满分", "Maximum"),
            ("等次", "Rating"),
            ("未整改问题", "Open findings"),
        ]),
        rows: items
            .iter()
            .map(|i| {
                vec![
                    i.township_name.clone().into(),
                    i.village_name.clone().into(),
                    label(&i.kind, lang).into(),
                    i.period.clone().into(),
                    i.date.clone().into(),
                    Cell::Num(i.score),
                    Cell::Num(i.max),
                    i.rating.as_deref().map(|r| label(r, lang)).into(),
                    i.open_findings.into(),
                ]
            })
            .collect(),
    }
}

pub fn activities(items: &[TimelineItem], lang: Lang) -> Table {
    Table {
        name: "activities",
        headers: hdr(&[
            ("日期", "Date"),
            ("类型", "Kind"),
            ("主题", "Topic"),
            ("参加人数", "Attendees"),
        ]),
        rows: items
            .iter()
            .map(|a| {
                vec![
                    a.date.clone().into(),
                    a.kind.as_deref().map(|k| label(k, lang)).into(),
                    a.title.clone().into(),
                    a.attendees.into(),
                ]
            })
            .collect(),
    }
}

pub fn members(roster: &Roster, pipeline: &[PipelineItem], lang: Lang) -> Table {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let group = |zh: &str, en: &str| if lang == Lang::Zh { zh } else { en }.to_string();
    rows.push(vec![
        group("党员总数", "Members").into(),
        Cell::Empty,
        roster.total.into(),
    ]);
    for (title, m) in [
        (group("党员类别", "Category"), &roster.by_category),
        (group("性别", "Gender"), &roster.by_gender),
        (group("年龄段", "Age band"), &roster.by_age_band),
        (group("发展阶段", "Stage"), &roster.by_stage),
    ] {
        for (k, n) in m {
            rows.push(vec![
                title.clone().into(),
                member_label(k, lang).into(),
                (*n).into(),
            ]);
        }
    }
    for p in pipeline {
        rows.push(vec![
            group("发展对象名单", "Pipeline").into(),
            format!("{} · {}", p.name, label(&p.stage, lang)).into(),
            p.date.clone().into(),
        ]);
    }
    Table {
        name: "members",
        headers: hdr(&[("项目", "Item"), ("分组", "Group"), ("数量", "Count")]),
        rows,
    }
}

fn member_label(k: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return k.replace('_', " ");
    }
    match k {
        "resident" => "在村党员",
        "migrant" => "流动党员",
        "elderly_infirm" => "老弱病残党员",
        "male" => "男",
        "female" => "女",
        "under_35" => "35岁以下",
        "35_45" => "35–45岁",
        "46_60" => "46–60岁",
        "over_60" => "60岁以上",
        "unknown" => "未知",
        _ => return label(k, lang),
    }
    .to_string()
}

pub fn devices(items: &[crate::admin::DeviceRow], lang: Lang) -> Table {
    Table {
        name: "devices",
        headers: hdr(&[
            ("设备", "Device"),
            ("名称", "Name"),
            ("使用人", "Person"),
            ("登记时间", "Enrolled"),
            ("最近同步", "Last seen"),
            ("状态", "State"),
        ]),
        rows: items
            .iter()
            .map(|row| {
                let d = &row.device;
                vec![
                    d.id.clone().into(),
                    d.name.clone().into(),
                    row.person_name.clone().into(),
                    date_time(Some(d.created_at)),
                    date_time(d.last_seen),
                    match (d.revoked_at.is_some(), lang) {
                        (true, Lang::Zh) => "已停用",
                        (false, Lang::Zh) => "正常",
                        (true, Lang::En) => "revoked",
                        (false, Lang::En) => "active",
                    }
                    .into(),
                ]
            })
            .collect(),
    }
}

pub fn people(items: &[PersonInfo], lang: Lang) -> Table {
    Table {
        name: "people",
        headers: hdr(&[
            ("编号", "Id"),
            ("姓名", "Name"),
            ("角色", "Role"),
            ("所属单位", "Units"),
            ("可登录", "Office login"),
        ]),
        rows: items
            .iter()
            .map(|p| {
                vec![
                    p.id.clone().into(),
                    p.name.clone().into(),
                    label(&p.role, lang).into(),
                    p.units.join(", ").into(),
                    yes_no(p.has_login, lang),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_chinese_headers_and_defuses_formulas() {
        let t = Table {
            name: "t",
            headers: hdr(&[("村（社区）", "Village"), ("数量", "Count")]),
            rows: vec![vec!["=HYPERLINK(\"x\")".into(), 3u32.into()]],
        };
        let s = String::from_utf8(t.csv(Lang::Zh).unwrap()).unwrap();
        assert!(s.starts_with('\u{feff}'));
        assert!(s.contains("村（社区）,数量"));
        assert!(s.contains("'=HYPERLINK"));
        let en = String::from_utf8(t.csv(Lang::En).unwrap()).unwrap();
        assert!(en.contains("Village,Count"));
    }

    #[test]
    fn labels_name_states_and_activity_kinds_in_chinese() {
        assert_eq!(label("missing", Lang::Zh), "未报");
        assert_eq!(label("party_lecture", Lang::Zh), "党课");
        assert_eq!(label("party_lecture", Lang::En), "party lecture");
    }
}
