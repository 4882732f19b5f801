-- zhucun server schema (SQLite), version 1. Shipped migrations are never edited.

CREATE TABLE org_units (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL,          -- city, township, street, village, community, school
    parent TEXT REFERENCES org_units(id),
    path   TEXT NOT NULL UNIQUE    -- '/city/town/village/': scope is a path prefix
);

CREATE TABLE people (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT           -- Argon2id, office logins only
);

CREATE TABLE person_units (
    person_id TEXT NOT NULL REFERENCES people(id),
    unit_id   TEXT NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (person_id, unit_id)
);

CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,   -- SHA-256 of the normalised code
    person_id  TEXT NOT NULL REFERENCES people(id),
    expires_at INTEGER NOT NULL,   -- server clock, seconds
    used_at    INTEGER
);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER,
    revoked_at INTEGER
);

-- The server's copy of every record: the Automerge document with its whole history.
CREATE TABLE docs (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    village TEXT NOT NULL,
    heads   TEXT NOT NULL,
    bytes   BLOB NOT NULL
);

-- The append-only change log; seq orders everything a device pulls.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL,
    origin    TEXT NOT NULL,       -- device that pushed it
    bytes     BLOB NOT NULL
);

-- Units a record reaches (its village, a task's villages), by path, for scope filtering.
CREATE TABLE record_units (
    record_id TEXT NOT NULL,
    path      TEXT NOT NULL,
    PRIMARY KEY (record_id, path)
);
CREATE INDEX record_units_path ON record_units(path);

-- The dashboard's projection row per record, written with the change.
CREATE TABLE projections (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    village  TEXT NOT NULL,
    title    TEXT NOT NULL,
    date     TEXT,
    sub_kind TEXT,
    status   TEXT,
    detail   TEXT NOT NULL
);
CREATE INDEX projections_village_kind ON projections(village, kind, date);
