-- Office logins for the dashboard, and the indexes its questions need. Shipped migrations are
-- never edited.

-- A logged-in browser: only the hash of the cookie's token is kept.
CREATE TABLE office_sessions (
    token_hash TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used  BIGINT NOT NULL
);

-- Failed logins in a row per typed user id (it may name nobody).
CREATE TABLE login_failures (
    user_id      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until BIGINT
);

-- Activities of a month (and a quarter) counted per village and kind without touching the rows:
-- the index alone covers the count.
CREATE INDEX projections_kind_date ON projections(kind, date, village, sub_kind);
