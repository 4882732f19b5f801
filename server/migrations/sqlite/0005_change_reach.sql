-- Units a change-log entry reaches beyond its record's current reach: the units a record
-- left with that change (a task moved to another village), so their devices still pull the
-- change that took the record away. Rows are rare: only moves away write them.
-- Shipped migrations are never edited.
CREATE TABLE change_reach (
    seq  BIGINT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (seq, path)
);
