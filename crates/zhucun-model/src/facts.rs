//! Projection facts: the few fields of a record that lists, filters, search and reports need,
//! so that no query ever has to load documents. The replica and the server each write one row
//! of these per record, in the same transaction as the document.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What a record contributes to its projection row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facts {
    /// One line naming the record in lists.
    pub title: String,
    /// The record's main date (activity date, deadline, member's latest stage date...).
    pub date: Option<NaiveDate>,
    /// The kind within the kind: activity kind, project kind, member category...
    pub sub_kind: Option<String>,
    /// State: member stage, task or report state, project status.
    pub status: Option<String>,
    /// Organisation units besides the record's own village that the record reaches
    /// (a task's assigned villages).
    pub reaches: Vec<String>,
    /// Text indexed for full-text search.
    pub search_text: String,
    /// Kind-specific facts for reports (see the `*Facts` types in [`crate::figures`]).
    pub detail: Json,
}
