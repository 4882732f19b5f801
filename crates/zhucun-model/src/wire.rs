//! What a peer's change bytes would cost, read before Automerge expands them.
//!
//! Automerge stores operations in run-length-encoded columns, so a few bytes can stand for
//! billions of rows, and columns may be DEFLATE-compressed, so a few megabytes can inflate to
//! gigabytes; loading either allocates for all of it. Changes arrive from devices (a push)
//! and from the server (a pulled page, a sync message), so before any of them reaches
//! Automerge this module reads every column's runs, one step per run, inflating compressed
//! columns only up to a byte limit, and refuses what is over the limits. Pushes and pages
//! carry only uncompressed change chunks (what `changes_since` gives); a sync message may
//! also carry a whole document (Automerge sends one when a peer lacks most of a record).
//!
//! The layout read here is Automerge's binary format (chunk header, change or document
//! header, column metadata, column data); `tests` check the counts against Automerge's own.

use std::io::Read;

/// Most operations the changes of one record may carry in one push, page or sync message.
/// A new activity is a few hundred operations, a long narrative typed once ten thousand;
/// at this limit Automerge holds a few hundred megabytes for the one record.
pub const MAX_OPS_PER_RECORD: u64 = 1_000_000;
/// Most bytes one record's saved document may take on the server: far above any record
/// people type (a long narrative with its history is tens of kilobytes), well below what would
/// make loading it a burden on every push.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes the compressed columns of one call may inflate to.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_DOCUMENT: u8 = 0;
const CHUNK_CHANGE: u8 = 1;
/// Column id of the operations' actions (one row per operation), in changes and documents.
const ACTION_COLUMN_ID: u32 = 4;
const COLUMN_DEFLATE: u32 = 0x08;

/// Which chunks a caller takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Uncompressed change chunks only (pushes and pulled pages).
    Changes,
    /// Also whole documents (Automerge's sync messages).
    ChangesAndDocuments,
}

/// Count the operations of buffers of chunks (each what `load_incremental` takes), refusing
/// as soon as any column passes `limit` rows, the operations in all pass `limit`, or
/// compressed columns would inflate past [`MAX_INFLATED_BYTES`].
pub fn count_ops<B: AsRef<[u8]>>(buffers: &[B], limit: u64, accept: Accept) -> Result<u64, String> {
    let mut budget = Budget {
        ops: limit,
        inflate: MAX_INFLATED_BYTES,
    };
    let mut total = 0u64;
    for b in buffers {
        let mut rest = b.as_ref();
        while !rest.is_empty() {
            rest = chunk(rest, accept, &mut budget, &mut total).map_err(|e| match e {
                Refused::OverOps => format!("the changes carry more than {limit} operations"),
                Refused::OverInflate => format!(
                    "the changes' compressed columns inflate past {MAX_INFLATED_BYTES} bytes"
                ),
                Refused::Bad(why) => why,
            })?;
        }
    }
    Ok(total)
}

#[derive(Debug)]
enum Refused {
    OverOps,
    OverInflate,
    Bad(String),
}

fn bad(why: &str) -> Refused {
    Refused::Bad(why.to_string())
}

struct Budget {
    ops: u64,
    inflate: u64,
}

/// One chunk at the start of `b`; returns the bytes after it.
fn chunk<'a>(
    b: &'a [u8],
    accept: Accept,
    budget: &mut Budget,
    total: &mut u64,
) -> Result<&'a [u8], Refused> {
    let mut r = Reader(b);
    if r.take(4)? != MAGIC {
        return Err(bad("not an Automerge chunk (bad magic bytes)"));
    }
    r.take(4)?; // checksum: Automerge verifies it when it loads the chunk
    let kind = r.take(1)?[0];
    let len = r.len()?;
    let data = r.take(len)?;
    let ops = match (kind, accept) {
        (CHUNK_CHANGE, _) => change_ops(data, budget)?,
        (CHUNK_DOCUMENT, Accept::ChangesAndDocuments) => document_ops(data, budget)?,
        _ => {
            let what = match kind {
                0 => "a whole document",
                2 => "a compressed change",
                3 => "a bundle",
                _ => "an unknown chunk",
            };
            return Err(Refused::Bad(format!(
                "{what} where uncompressed changes were expected"
            )));
        }
    };
    *total += ops;
    budget.ops = budget.ops.checked_sub(ops).ok_or(Refused::OverOps)?;
    Ok(r.0)
}

/// The operations of a change chunk's data (after the chunk header).
fn change_ops(data: &[u8], budget: &mut Budget) -> Result<u64, Refused> {
    let mut r = Reader(data);
    let deps = r.uleb()?;
    for _ in 0..deps {
        r.take(32)?;
    }
    r.bytes()?; // actor
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.skip_leb()?; // timestamp (signed)
    r.bytes()?; // message
    let others = r.uleb()?;
    for _ in 0..others {
        r.bytes()?;
    }
    let meta = r.columns()?;
    let data = r.take_columns(&meta)?;
    if meta.iter().any(|c| c.spec & COLUMN_DEFLATE != 0) {
        return Err(bad("compressed columns in a change"));
    }
    columns_ops(&meta, data, budget)
}

/// The operations of a document chunk's data: its change columns are checked like any
/// column, its operation columns give the count.
fn document_ops(data: &[u8], budget: &mut Budget) -> Result<u64, Refused> {
    let mut r = Reader(data);
    let actors = r.uleb()?;
    for _ in 0..actors {
        r.bytes()?;
    }
    let heads = r.uleb()?;
    for _ in 0..heads {
        r.take(32)?;
    }
    let change_meta = r.columns()?;
    let op_meta = r.columns()?;
    let change_data = r.take_columns(&change_meta)?;
    let op_data = r.take_columns(&op_meta)?;
    columns_ops(&change_meta, change_data, budget)?;
    columns_ops(&op_meta, op_data, budget)
}

struct Column {
    spec: u32,
    len: usize,
}

/// Check every column's rows against the budget; the rows of the action column.
fn columns_ops(meta: &[Column], mut data: &[u8], budget: &mut Budget) -> Result<u64, Refused> {
    let mut ops = 0;
    for c in meta {
        let (this, rest) = data.split_at(c.len);
        data = rest;
        let inflated;
        let bytes = if c.spec & COLUMN_DEFLATE != 0 {
            inflated = inflate(this, budget)?;
            &inflated[..]
        } else {
            this
        };
        let rows = match c.spec & 0x07 {
            // group, actor, integer, delta, value metadata: runs of numbers
            0 | 1 | 2 | 3 | 6 => rle_rows(bytes, budget.ops, false)?,
            4 => bool_rows(bytes, budget.ops)?,
            5 => rle_rows(bytes, budget.ops, true)?,
            // raw values: their count follows the value metadata column
            _ => 0,
        };
        if c.spec >> 4 == ACTION_COLUMN_ID && c.spec & 0x07 == 2 {
            ops = rows;
        }
    }
    Ok(ops)
}

fn inflate(compressed: &[u8], budget: &mut Budget) -> Result<Vec<u8>, Refused> {
    let mut out = Vec::new();
    let mut d = flate2::bufread::DeflateDecoder::new(compressed).take(budget.inflate + 1);
    d.read_to_end(&mut out)
        .map_err(|_| bad("a compressed column does not inflate"))?;
    let n = out.len() as u64;
    budget.inflate = budget.inflate.checked_sub(n).ok_or(Refused::OverInflate)?;
    Ok(out)
}

/// Rows of a run-length-encoded column, one step per run: a positive count is a run of one
/// value, a negative count that many literal values, zero a run of nulls of the count that
/// follows. Values are numbers, or with `strings` length-prefixed bytes.
fn rle_rows(data: &[u8], limit: u64, strings: bool) -> Result<u64, Refused> {
    let mut r = Reader(data);
    let mut rows = 0u64;
    let value = |r: &mut Reader<'_>| -> Result<(), Refused> {
        if strings {
            r.bytes().map(|_| ())
        } else {
            r.skip_leb()
        }
    };
    while !r.0.is_empty() {
        let count = r.sleb()?;
        let run = match count {
            c if c > 0 => {
                value(&mut r)?;
                c.unsigned_abs()
            }
            c if c < 0 => {
                let n = c.unsigned_abs();
                if rows.saturating_add(n) > limit {
                    return Err(Refused::OverOps);
                }
                // Each literal takes at least a byte, so this loop is bounded by the data.
                for _ in 0..n {
                    value(&mut r)?;
                }
                n
            }
            _ => r.uleb()?,
        };
        rows = rows.saturating_add(run);
        if rows > limit {
            return Err(Refused::OverOps);
        }
    }
    Ok(rows)
}

/// Rows of a boolean column: alternating run lengths of false and true.
fn bool_rows(data: &[u8], limit: u64) -> Result<u64, Refused> {
    let mut r = Reader(data);
    let mut rows = 0u64;
    while !r.0.is_empty() {
        rows = rows.saturating_add(r.uleb()?);
        if rows > limit {
            return Err(Refused::OverOps);
        }
    }
    Ok(rows)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Refused> {
        if self.0.len() < n {
            return Err(bad("change is cut short"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }

    fn uleb(&mut self) -> Result<u64, Refused> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            if shift == 63 && byte > 1 {
                break;
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("a number in the change is too large"))
    }

    fn sleb(&mut self) -> Result<i64, Refused> {
        let mut v = 0i64;
        let mut shift = 0u32;
        loop {
            let byte = self.take(1)?[0];
            if shift >= 64 {
                return Err(bad("a number in the change is too large"));
            }
            v |= i64::from(byte & 0x7f).wrapping_shl(shift);
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
        }
    }

    /// Skip one LEB128 number, signed or not.
    fn skip_leb(&mut self) -> Result<(), Refused> {
        for _ in 0..10 {
            if self.take(1)?[0] & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(bad("a number in the change is too large"))
    }

    fn len(&mut self) -> Result<usize, Refused> {
        usize::try_from(self.uleb()?).map_err(|_| bad("a length in the change is too large"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Refused> {
        let n = self.len()?;
        self.take(n)
    }

    /// Column metadata: a count, then (spec, length) per column.
    fn columns(&mut self) -> Result<Vec<Column>, Refused> {
        let n = self.uleb()?;
        let mut out = Vec::new();
        for _ in 0..n {
            let spec =
                u32::try_from(self.uleb()?).map_err(|_| bad("a column spec is too large"))?;
            let len = self.len()?;
            out.push(Column { spec, len });
        }
        Ok(out)
    }

    /// The data of the columns in `meta`, all together.
    fn take_columns(&mut self, meta: &[Column]) -> Result<&'a [u8], Refused> {
        let mut total = 0usize;
        for c in meta {
            total = total
                .checked_add(c.len)
                .ok_or_else(|| bad("column lengths overflow"))?;
        }
        self.take(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    fn changes(doc: &mut AutoCommit) -> Vec<(Vec<u8>, usize)> {
        doc.get_changes(&[])
            .into_iter()
            .map(|c| (c.raw_bytes().to_vec(), c.len()))
            .collect()
    }

    #[test]
    fn counts_what_automerge_counts() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "topic", "学习党章").unwrap();
        doc.commit();
        let text = doc.put_object(ROOT, "summary", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, &"会".repeat(5000)).unwrap();
        doc.commit();
        doc.splice_text(&text, 10, 200, "讨论村集体经济").unwrap();
        doc.put(ROOT, "n", 7).unwrap();
        doc.commit();
        let list = doc.put_object(ROOT, "attendees", ObjType::List).unwrap();
        for i in 0..300 {
            doc.insert(&list, i, format!("m-{i}")).unwrap();
        }
        doc.delete(ROOT, "n").unwrap();
        doc.commit();
        let all = changes(&mut doc);
        assert_eq!(all.len(), 4);
        for (bytes, len) in &all {
            assert_eq!(
                count_ops(&[bytes], MAX_OPS_PER_RECORD, Accept::Changes).unwrap(),
                *len as u64
            );
        }
        // Chunks back to back, as a sync message carries them.
        let joined: Vec<u8> = all.iter().flat_map(|(b, _)| b.clone()).collect();
        let sum: usize = all.iter().map(|(_, l)| l).sum();
        assert_eq!(
            count_ops(&[&joined], MAX_OPS_PER_RECORD, Accept::Changes).unwrap(),
            sum as u64
        );
        assert_eq!(
            count_ops(&[&joined], 5000, Accept::Changes).unwrap_err(),
            "the changes carry more than 5000 operations"
        );
    }

    #[test]
    fn a_run_of_a_billion_operations_is_refused_in_one_step() {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "summary", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, &"a".repeat(1000)).unwrap();
        doc.commit();
        let (bytes, _) = changes(&mut doc).pop().unwrap();
        // Rewrite the action column's runs to claim 2^40 rows each (the checksum is left
        // stale: the count is read before Automerge would look at it).
        let bomb = inflate_action_runs(&bytes, 1 << 40);
        let err = count_ops(&[&bomb], MAX_OPS_PER_RECORD, Accept::ChangesAndDocuments).unwrap_err();
        assert!(err.contains("more than 1000000 operations"), "{err}");
    }

    #[test]
    fn only_uncompressed_change_chunks_pass() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "topic", "党课").unwrap();
        doc.commit();
        let saved = doc.save();
        assert!(count_ops(&[&saved], MAX_OPS_PER_RECORD, Accept::Changes)
            .unwrap_err()
            .contains("a whole document"));
        let (mut bytes, _) = changes(&mut doc).pop().unwrap();
        bytes[8] = 2;
        assert!(
            count_ops(&[&bytes], MAX_OPS_PER_RECORD, Accept::ChangesAndDocuments)
                .unwrap_err()
                .contains("a compressed change")
        );
        let (good, _) = changes(&mut doc).pop().unwrap();
        for cut in [3, 9, 20, good.len() - 1] {
            assert!(
                count_ops(&[&good[..cut]], MAX_OPS_PER_RECORD, Accept::Changes).is_err(),
                "{cut}"
            );
        }
        assert_eq!(
            count_ops::<&[u8]>(&[], MAX_OPS_PER_RECORD, Accept::Changes).unwrap(),
            0
        );
        assert!(count_ops(&[b"junk"], MAX_OPS_PER_RECORD, Accept::Changes).is_err());
    }

    #[test]
    fn a_whole_document_in_a_sync_message_is_counted_through_its_compressed_columns() {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "summary", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, &"学习党章，讨论村集体经济发展。".repeat(400))
            .unwrap();
        doc.commit();
        doc.splice_text(&text, 100, 50, "补充").unwrap();
        doc.commit();
        let ops: usize = changes(&mut doc).iter().map(|(_, l)| l).sum();
        let saved = doc.save();
        let n = count_ops(&[&saved], MAX_OPS_PER_RECORD, Accept::ChangesAndDocuments).unwrap();
        // A document keeps deletions as successors of what they deleted, not as operations:
        // the 50 characters deleted are 50 operations fewer than the changes carry.
        assert_eq!(n, ops as u64 - 50);
        assert!(count_ops(&[&saved], 1000, Accept::ChangesAndDocuments)
            .unwrap_err()
            .contains("more than 1000 operations"));
    }

    #[test]
    fn inflating_stops_at_the_byte_limit() {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 4 << 20]).unwrap();
        let bomb = e.finish().unwrap();
        let mut budget = Budget {
            ops: MAX_OPS_PER_RECORD,
            inflate: 1 << 20,
        };
        assert!(matches!(
            inflate(&bomb, &mut budget),
            Err(Refused::OverInflate)
        ));
        let mut budget = Budget {
            ops: MAX_OPS_PER_RECORD,
            inflate: 8 << 20,
        };
        assert_eq!(
            inflate(&bomb, &mut budget).ok().map(|v| v.len()),
            Some(4 << 20)
        );
        assert_eq!(budget.inflate, 4 << 20);
    }

    /// The change with every run of its action column replaced by one run of `rows`.
    fn inflate_action_runs(chunk: &[u8], rows: u64) -> Vec<u8> {
        fn uleb(mut v: u64, out: &mut Vec<u8>) {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    return;
                }
                out.push(b | 0x80);
            }
        }
        let mut r = Reader(chunk);
        let head = r.take(9).unwrap().to_vec();
        let len = r.uleb().unwrap() as usize;
        let data = r.take(len).unwrap();
        let mut d = Reader(data);
        for _ in 0..d.uleb().unwrap() {
            d.take(32).unwrap();
        }
        d.bytes().unwrap();
        for _ in 0..3 {
            d.uleb().unwrap(); // seq, start op, timestamp (positive here)
        }
        d.bytes().unwrap();
        for _ in 0..d.uleb().unwrap() {
            d.bytes().unwrap();
        }
        let fixed = data.len() - d.0.len();
        let n = d.uleb().unwrap();
        let cols: Vec<(u64, u64)> = (0..n)
            .map(|_| (d.uleb().unwrap(), d.uleb().unwrap()))
            .collect();
        let mut col_data = d.0;
        // A run of `rows` copies of one action value (sleb count, then the value).
        let mut run = Vec::new();
        let mut c = rows;
        loop {
            let b = (c & 0x7f) as u8;
            c >>= 7;
            if c == 0 && b & 0x40 == 0 {
                run.push(b);
                break;
            }
            run.push(b | 0x80);
        }
        run.push(1);
        let mut new_meta = Vec::new();
        uleb(n, &mut new_meta);
        let mut new_cols = Vec::new();
        for (spec, len) in &cols {
            let (this, rest) = col_data.split_at(*len as usize);
            col_data = rest;
            let body = if *spec >> 4 == 4 && *spec & 7 == 2 {
                run.clone()
            } else {
                this.to_vec()
            };
            uleb(*spec, &mut new_meta);
            uleb(body.len() as u64, &mut new_meta);
            new_cols.extend(body);
        }
        let mut new_data = data[..fixed].to_vec();
        new_data.extend(new_meta);
        new_data.extend(new_cols);
        new_data.extend(col_data);
        let mut out = head;
        uleb(new_data.len() as u64, &mut out);
        out.extend(new_data);
        out
    }
}
