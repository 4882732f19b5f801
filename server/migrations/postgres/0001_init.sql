-- zhucun server schema (PostgreSQL), version 1. Shipped migrations are never edited.

CREATE TABLE org_units (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    parent TEXT REFERENCES org_units(id),
    path   TEXT NOT NULL UNIQUE
);

CREATE TABLE people (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT
);

CREATE TABLE person_units (
    person_id TEXT NOT NULL REFERENCES people(id),
    unit_id   TEXT NOT NULL REFERENCES org_units(id),
    PRIMARY KEY (person_id, unit_id)
);

CREATE TABLE enrolment_codes (
    code_hash  TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT,
    revoked_at BIGINT
);

CREATE TABLE docs (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    village TEXT NOT NULL,
    heads   TEXT NOT NULL,
    bytes   BYTEA NOT NULL
);

-- seq comes from a database sequence, so several server processes share one log; writers
-- take an advisory lock so sequence order is commit order (see postgres.rs).
CREATE TABLE changes (
    seq       BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL,
    origin    TEXT NOT NULL,
    bytes     BYTEA NOT NULL
);

CREATE TABLE record_units (
    record_id TEXT NOT NULL,
    path      TEXT NOT NULL,
    PRIMARY KEY (record_id, path)
);
CREATE INDEX record_units_path ON record_units(path text_pattern_ops);

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
