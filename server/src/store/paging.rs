//! The pull's paging rule, written once for both backends: entries in sequence order up to a
//! byte budget (at least one entry, however large), the device's own entries skipped but
//! passed by the cursor (except those up to the cursor it was last answered with: see
//! [`Own`]), and, when nothing more is in scope, the cursor moved to the log's end
//! so the next pull does not scan other villages' entries again.

use super::{LogEntry, Own, PullPage, StoreResult};

/// Rows a backend reads for one page, at most.
pub const PULL_ROWS: usize = 2000;

/// Builds one pull page from the change-log rows in scope, in sequence order.
pub struct Pager<'a> {
    page: PullPage,
    own: Own<'a>,
    max_bytes: usize,
    total: usize,
    seen: usize,
}

impl<'a> Pager<'a> {
    /// A page after `after`, skipping the asking device's own entries past `own.synced_to`,
    /// filled up to `max_bytes`.
    pub fn new(after: u64, own: Own<'a>, max_bytes: usize) -> Self {
        Pager {
            page: PullPage {
                entries: Vec::new(),
                cursor: after,
                more: false,
            },
            own,
            max_bytes,
            total: 0,
            seen: 0,
        }
    }

    /// Offer the next row; `false` when the page is full and the reader should stop.
    pub fn offer(&mut self, seq: u64, record_id: String, bytes: Vec<u8>, origin: &str) -> bool {
        self.seen += 1;
        if self.total > 0 && self.total + bytes.len() > self.max_bytes {
            self.page.more = true;
            return false;
        }
        self.page.cursor = seq;
        if origin != self.own.device || seq <= self.own.synced_to {
            self.total += bytes.len();
            self.page.entries.push(LogEntry {
                seq,
                record_id,
                bytes,
            });
        }
        true
    }

    /// The page. `log_end` gives the log's last sequence (asked only when nothing more is in
    /// scope); the backend reads it in the same snapshot as the rows.
    pub fn finish(mut self, log_end: impl FnOnce() -> StoreResult<u64>) -> StoreResult<PullPage> {
        if self.seen >= PULL_ROWS {
            self.page.more = true;
        }
        if !self.page.more {
            self.page.cursor = self.page.cursor.max(log_end()?);
        }
        Ok(self.page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Own = Own {
        device: "me",
        synced_to: 0,
    };

    fn rows(p: &mut Pager, list: &[(u64, usize, &str)]) {
        for &(seq, len, origin) in list {
            if !p.offer(seq, format!("r{seq}"), vec![0; len], origin) {
                break;
            }
        }
    }

    #[test]
    fn fills_to_the_budget_and_says_more() {
        let mut p = Pager::new(0, ME, 100);
        rows(&mut p, &[(1, 60, "a"), (2, 30, "a"), (3, 30, "a")]);
        let page = p.finish(|| Ok(99)).unwrap();
        assert_eq!(
            page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!((page.cursor, page.more), (2, true));
    }

    #[test]
    fn one_entry_larger_than_the_budget_still_goes() {
        let mut p = Pager::new(5, ME, 10);
        rows(&mut p, &[(6, 50, "a"), (7, 1, "a")]);
        let page = p.finish(|| Ok(99)).unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!((page.cursor, page.more), (6, true));
    }

    #[test]
    fn skips_the_askers_own_entries_and_moves_to_the_log_end() {
        let mut p = Pager::new(0, ME, 100);
        rows(&mut p, &[(1, 10, "me"), (4, 10, "a")]);
        let page = p.finish(|| Ok(42)).unwrap();
        assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
        assert_eq!((page.cursor, page.more), (42, false));
    }

    #[test]
    fn a_device_asking_from_before_its_last_answer_gets_its_own_entries_back() {
        // Last answered with cursor 3; a copy of the device from cursor 0 asks again.
        let own = Own {
            device: "me",
            synced_to: 3,
        };
        let mut p = Pager::new(0, own, 100);
        rows(
            &mut p,
            &[(1, 10, "me"), (2, 10, "a"), (3, 10, "me"), (5, 10, "me")],
        );
        let page = p.finish(|| Ok(5)).unwrap();
        assert_eq!(
            page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3],
            "its entries up to its last answer come back, the one pushed since does not"
        );
    }

    #[test]
    fn a_full_read_means_more_and_keeps_the_cursor() {
        let mut p = Pager::new(0, ME, usize::MAX);
        for seq in 1..=PULL_ROWS as u64 {
            assert!(p.offer(seq, String::new(), vec![1], "a"));
        }
        let page = p
            .finish(|| panic!("the log's end is not asked when more is in scope"))
            .unwrap();
        assert_eq!((page.cursor, page.more), (PULL_ROWS as u64, true));
    }
}
