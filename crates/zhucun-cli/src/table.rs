//! Spreadsheets in and out: a kind of record as CSV or XLSX with Chinese headers, so a
//! village's existing roster is brought in once instead of typed again. Nested fields
//! (lists) are written as JSON in their cell; import accepts Chinese labels or field names
//! as headers and all rows land together or none does.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};
use zhucun_model::{AnyRecord, Kind};
use zhucun_replica::{Filter, Replica};

const ID_LABEL: &str = "编号";
const VILLAGE_LABEL: &str = "村";

/// Column keys of a kind: id, village, then the kind's fields.
fn columns(kind: Kind) -> Vec<String> {
    let mut c = vec!["id".to_string(), "village".to_string()];
    c.extend(kind.fields());
    c
}

fn label(kind: Kind, key: &str) -> String {
    match key {
        "id" => ID_LABEL.into(),
        "village" => VILLAGE_LABEL.into(),
        k => AnyRecord::label_zh(kind, k).unwrap_or(k).to_string(),
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => String::new(),
        v => v.to_string(),
    }
}

/// Every record of `kind` as rows of cells, one document loaded at a time.
fn rows(r: &Replica, kind: Kind) -> Result<Vec<Vec<Value>>> {
    let cols = columns(kind);
    let list = r.list(&Filter {
        kind: Some(kind),
        ..Default::default()
    })?;
    let mut out = Vec::with_capacity(list.len());
    for row in list {
        let rec = r.get(&row.id)?;
        out.push(
            cols.iter()
                .map(|c| rec.record.get(c).cloned().unwrap_or(Value::Null))
                .collect(),
        );
    }
    Ok(out)
}

pub fn export_csv(r: &Replica, kind: Kind, path: &Path) -> Result<usize> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(columns(kind).iter().map(|c| label(kind, c)))?;
    let rows = rows(r, kind)?;
    for row in &rows {
        w.write_record(row.iter().map(cell_text))?;
    }
    w.flush()?;
    Ok(rows.len())
}

pub fn export_xlsx(r: &Replica, kind: Kind, path: &Path) -> Result<usize> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(kind.label_zh())?;
    let bold = Format::new().set_bold();
    for (c, key) in columns(kind).iter().enumerate() {
        ws.write_string_with_format(0, c as u16, label(kind, key), &bold)?;
    }
    let rows = rows(r, kind)?;
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (rr, cc) = (i as u32 + 1, c as u16);
            match v {
                Value::Number(n) => {
                    ws.write_number(rr, cc, n.as_f64().unwrap_or(0.0))?;
                }
                Value::Bool(b) => {
                    ws.write_boolean(rr, cc, *b)?;
                }
                v => {
                    let s = cell_text(v);
                    if !s.is_empty() {
                        ws.write_string(rr, cc, s)?;
                    }
                }
            }
        }
    }
    wb.save(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(rows.len())
}

/// The field a header names: a field key, its Chinese label, or the id/village columns.
fn header_key(kind: Kind, header: &str) -> Option<String> {
    let h = header.trim().trim_start_matches('\u{feff}');
    columns(kind)
        .into_iter()
        .find(|c| c == h || label(kind, c) == h)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "true" | "1" | "yes" | "是" | "y" => Some(true),
        "false" | "0" | "no" | "否" | "n" => Some(false),
        _ => None,
    }
}

/// Turn a cell's text into the JSON the field expects, by the type of its default value.
fn coerce(kind: Kind, key: &str, text: &str, row: usize) -> Result<Value> {
    let defaults = AnyRecord::default_of(kind).to_json_map();
    let t = text.trim();
    let err = |what: &str| anyhow!("row {}: {} `{t}` is not {what}", row + 1, label(kind, key));
    Ok(match defaults.get(key) {
        Some(Value::Number(_)) => {
            let clean = t.trim_end_matches('元').replace([',', '，'], "");
            if let Ok(i) = clean.parse::<i64>() {
                Value::from(i)
            } else {
                let f: f64 = clean.parse().map_err(|_| err("a number"))?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| err("a number"))?
            }
        }
        Some(Value::Bool(_)) => Value::Bool(parse_bool(t).ok_or_else(|| err("yes or no (是/否)"))?),
        Some(Value::Array(_)) => {
            if t.starts_with('[') {
                serde_json::from_str(t).map_err(|_| err("a JSON list"))?
            } else {
                Value::Array(
                    t.split([';', '；', '、', ',', '，'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )
            }
        }
        Some(Value::Object(_)) => serde_json::from_str(t).map_err(|_| err("a JSON object"))?,
        _ => {
            if t.starts_with('{') {
                serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string()))
            } else {
                Value::String(t.to_string())
            }
        }
    })
}

fn build_rows(
    kind: Kind,
    headers: &[String],
    cells: Vec<Vec<String>>,
) -> Result<Vec<Map<String, Value>>> {
    let mut keys = Vec::with_capacity(headers.len());
    for h in headers {
        if h.trim().is_empty() {
            keys.push(None);
            continue;
        }
        let k = header_key(kind, h).ok_or_else(|| {
            anyhow!(
                "column `{h}` is not a field of {} records (see `zhucun kinds`)",
                kind
            )
        })?;
        keys.push(Some(k));
    }
    let mut out = Vec::new();
    for (i, row) in cells.into_iter().enumerate() {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut m = Map::new();
        for (k, text) in keys.iter().zip(row.iter()) {
            if let Some(k) = k {
                if !text.trim().is_empty() {
                    m.insert(k.clone(), coerce(kind, k, text, i + 1)?);
                }
            }
        }
        out.push(m);
    }
    Ok(out)
}

fn excel_cell(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
    }
}

/// Read a CSV or XLSX file (by extension) into record inputs.
pub fn read_rows(kind: Kind, path: &Path) -> Result<Vec<Map<String, Value>>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .unwrap_or_default();
    let (headers, cells) = match ext.as_str() {
        "csv" => {
            let mut rd = csv::ReaderBuilder::new()
                .flexible(true)
                .from_path(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let headers: Vec<String> = rd.headers()?.iter().map(str::to_string).collect();
            let mut cells = Vec::new();
            for rec in rd.records() {
                cells.push(rec?.iter().map(str::to_string).collect());
            }
            (headers, cells)
        }
        "xlsx" | "xls" | "xlsm" | "ods" => {
            use calamine::Reader;
            let mut wb = calamine::open_workbook_auto(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let range = wb
                .worksheet_range_at(0)
                .ok_or_else(|| anyhow!("{} has no worksheet", path.display()))??;
            let mut rows = range.rows();
            let headers: Vec<String> = rows
                .next()
                .map(|r| r.iter().map(excel_cell).collect())
                .unwrap_or_default();
            let cells = rows.map(|r| r.iter().map(excel_cell).collect()).collect();
            (headers, cells)
        }
        _ => bail!("{}: use a .csv or .xlsx file", path.display()),
    };
    if headers.is_empty() {
        bail!("{} has no header row", path.display());
    }
    build_rows(kind, &headers, cells)
}
