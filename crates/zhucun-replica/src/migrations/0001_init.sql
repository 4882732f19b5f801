-- zhucun replica schema, version 1. Shipped migrations are never edited: add a new file.

-- Device facts: actor id, person, role, scope, sync cursor.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One Automerge document per record. Its rows are big (a page or more each), so nothing a
-- list reads lives here.
CREATE TABLE docs (
    n       INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL,
    village TEXT NOT NULL,
    bytes   BLOB NOT NULL
);

-- Sync bookkeeping per record: small rows lists can join.
CREATE TABLE sync_state (
    n           INTEGER PRIMARY KEY REFERENCES docs(n),
    heads       TEXT NOT NULL,              -- JSON array of the document's change hashes now
    acked_heads TEXT NOT NULL DEFAULT '[]', -- heads the server last acknowledged
    dirty       INTEGER NOT NULL DEFAULT 1  -- has changes the server has not acknowledged
);
CREATE INDEX sync_state_dirty ON sync_state(dirty) WHERE dirty = 1;

-- The projection row: what lists, filters and reports read instead of documents.
CREATE TABLE records (
    n        INTEGER PRIMARY KEY REFERENCES docs(n),
    id       TEXT NOT NULL UNIQUE,
    kind     TEXT NOT NULL,
    village  TEXT NOT NULL,
    title    TEXT NOT NULL,
    date     TEXT,
    sub_kind TEXT,
    status   TEXT,
    readable INTEGER NOT NULL DEFAULT 1,   -- 0: written by a newer version, kept as bytes
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX records_kind_date ON records(kind, date);
CREATE INDEX records_village_kind_date ON records(village, kind, date);

-- Organisation units a record reaches besides its own village (a task's villages).
CREATE TABLE record_reach (
    unit TEXT NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (unit, n)
) WITHOUT ROWID;

-- Full-text search; rowid = docs.n. `body` holds words and CJK bigrams, `uni` single CJK
-- characters (see search.rs).
CREATE VIRTUAL TABLE search USING fts5(body, uni, tokenize = 'unicode61');
-- No merging inside an insert (it made every 64th save slow); each save does a bounded
-- share of merge work instead (see write_doc).
INSERT INTO search(search, rank) VALUES ('automerge', 0);

-- Who is behind an Automerge actor id, as far as this device knows.
CREATE TABLE actors (
    actor  TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    person TEXT NOT NULL
) WITHOUT ROWID;

-- Content-addressed attachments, chunked inside the encrypted file.
CREATE TABLE blobs (
    hash     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mime     TEXT NOT NULL DEFAULT '',
    complete INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE blob_chunks (
    hash  TEXT NOT NULL,
    idx   INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (hash, idx)
) WITHOUT ROWID;
