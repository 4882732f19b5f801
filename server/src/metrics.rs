//! Operational metrics, exposed at `GET /metrics` in the Prometheus text format (0.0.4).
//!
//! Labels only ever carry values from fixed sets: a route as the router declares it
//! (`/v1/sync`, never the raw URI), a status class, a reject or error code. No token,
//! enrolment code, device, person or record id is ever a label, so the endpoint needs no
//! authentication.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use zhucun_protocol::RejectCode;

/// `Content-Type` of `GET /metrics`.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The `route` label of a request that matched no route (the raw path is never a label).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Latency buckets, seconds: 1 ms to 30 s (slower requests land in `+Inf`).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const REJECT_CODES: [RejectCode; 5] = [
    RejectCode::OutOfScope,
    RejectCode::Invalid,
    RejectCode::SchemaTooNew,
    RejectCode::Malformed,
    RejectCode::EnvelopeChanged,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// The server's metrics and the registry they are exposed from.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sync_rounds: Counter,
    doc_sync_rounds: Counter,
    request_bytes: Family<RouteLabels, Counter>,
    response_bytes: Family<RouteLabels, Counter>,
    records_pushed: Counter,
    records_acked: Counter,
    records_rejected: Family<CodeLabels, Counter>,
    records_pulled: Counter,
    enrolments: Family<ResultLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("zhucun");
        let sync_rounds = Counter::default();
        registry.register(
            "sync_rounds",
            "Sync rounds (POST /v1/sync) answered successfully",
            sync_rounds.clone(),
        );
        let doc_sync_rounds = Counter::default();
        registry.register(
            "doc_sync_rounds",
            "Per-record Automerge sync rounds (POST /v1/sync/doc) answered successfully",
            doc_sync_rounds.clone(),
        );
        let request_bytes = Family::<RouteLabels, Counter>::default();
        registry.register(
            "sync_request_bytes",
            "Compressed request body bytes of the sync rounds answered, by route",
            request_bytes.clone(),
        );
        let response_bytes = Family::<RouteLabels, Counter>::default();
        registry.register(
            "sync_response_bytes",
            "Compressed response body bytes of the sync rounds answered, by route",
            response_bytes.clone(),
        );
        let records_pushed = Counter::default();
        registry.register(
            "records_pushed",
            "Records pushed by devices in sync rounds",
            records_pushed.clone(),
        );
        let records_acked = Counter::default();
        registry.register(
            "records_acknowledged",
            "Pushed records acknowledged (stored or already known)",
            records_acked.clone(),
        );
        let records_rejected = Family::<CodeLabels, Counter>::default();
        registry.register(
            "records_rejected",
            "Pushed records rejected, by reject code",
            records_rejected.clone(),
        );
        let records_pulled = Counter::default();
        registry.register(
            "records_pulled",
            "Records sent to devices in pulled pages",
            records_pulled.clone(),
        );
        let enrolments = Family::<ResultLabels, Counter>::default();
        registry.register(
            "enrolments",
            "Enrolment attempts (POST /v1/enroll), by result: ok or the error code",
            enrolments.clone(),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests, by matched route and status class",
            http_requests.clone(),
        );
        let http_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by matched route",
            http_duration.clone(),
        );
        // Every reject code and sync route shows (at 0) before its first event, so rates and
        // alerts work from the start.
        for route in [zhucun_protocol::SYNC_PATH, zhucun_protocol::DOC_SYNC_PATH] {
            let labels = RouteLabels {
                route: route.to_string(),
            };
            request_bytes.get_or_create_owned(&labels);
            response_bytes.get_or_create_owned(&labels);
        }
        for code in REJECT_CODES {
            records_rejected.get_or_create_owned(&CodeLabels {
                code: reject_code(code),
            });
        }
        Metrics {
            registry,
            sync_rounds,
            doc_sync_rounds,
            request_bytes,
            response_bytes,
            records_pushed,
            records_acked,
            records_rejected,
            records_pulled,
            enrolments,
            http_requests,
            http_duration,
        }
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; metric encoding errors only on invalid native
        // histograms, which are not used here.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }

    /// A `/v1/sync` round answered.
    pub(crate) fn sync_round(&self, resp: &zhucun_protocol::SyncResponse, pushed: usize) {
        self.sync_rounds.inc();
        self.records_pushed.inc_by(pushed as u64);
        self.records_acked.inc_by(resp.acks.len() as u64);
        for r in &resp.rejects {
            self.rejected(r.code);
        }
        self.records_pulled.inc_by(resp.pull.len() as u64);
    }

    /// A `/v1/sync/doc` round answered.
    pub(crate) fn doc_sync_round(&self, resp: &zhucun_protocol::DocSyncResponse) {
        self.doc_sync_rounds.inc();
        if let Some(r) = &resp.reject {
            self.rejected(r.code);
        }
    }

    /// Body sizes (compressed) of a sync round answered on `route`.
    pub(crate) fn sync_bytes(&self, route: &str, request: usize, response: usize) {
        let labels = RouteLabels {
            route: route.to_string(),
        };
        self.request_bytes
            .get_or_create(&labels)
            .inc_by(request as u64);
        self.response_bytes
            .get_or_create(&labels)
            .inc_by(response as u64);
    }

    fn rejected(&self, code: RejectCode) {
        self.records_rejected
            .get_or_create(&CodeLabels {
                code: reject_code(code),
            })
            .inc();
    }

    /// An enrolment attempt: `"ok"` or the API error code (a fixed string).
    pub(crate) fn enrolment(&self, result: &'static str) {
        self.enrolments
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// An HTTP request answered. `route` is the router's matched path or
    /// [`UNMATCHED_ROUTE`], never a raw URI.
    pub(crate) fn http_request(&self, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                status: status_class(status),
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The wire name of a reject code (as `RejectCode` serialises).
fn reject_code(code: RejectCode) -> &'static str {
    match code {
        RejectCode::OutOfScope => "out_of_scope",
        RejectCode::Invalid => "invalid",
        RejectCode::SchemaTooNew => "schema_too_new",
        RejectCode::Malformed => "malformed",
        RejectCode::EnvelopeChanged => "envelope_changed",
        RejectCode::Forbidden => "forbidden",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_code_labels_match_the_wire_names() {
        for code in REJECT_CODES {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json.trim_matches('"'), reject_code(code));
        }
    }

    #[test]
    fn text_format_is_prometheus_0_0_4() {
        let m = Metrics::new();
        m.http_request("/v1/sync", 200, Duration::from_millis(3));
        let text = m.encode();
        assert!(text.contains("# TYPE zhucun_sync_rounds_total counter\n"));
        assert!(text.contains("zhucun_records_rejected_total{code=\"schema_too_new\"} 0\n"));
        assert!(text.contains("zhucun_http_requests_total{route=\"/v1/sync\",status=\"2xx\"} 1\n"));
        assert!(text.contains(
            "zhucun_http_request_duration_seconds_bucket{route=\"/v1/sync\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains("zhucun_sync_response_bytes_total{route=\"/v1/sync/doc\"} 0\n"));
        assert!(!text.contains("# EOF"), "OpenMetrics marker in 0.0.4 text");
    }
}
