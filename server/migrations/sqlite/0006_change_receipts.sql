-- The server's receipt for every change it takes: the device that delivered it, whose it is,
-- and the server's clock when it did. A change names its own maker, which the server checks only for
-- the delivering device's own changes; a change naming another device (`relayed`: a device
-- giving back what a server restored from a backup lost) is vouched for as delivered, no
-- more. The record's history in the dashboard shows both. Changes taken before this table
-- existed have no receipt. Shipped migrations are never edited.
CREATE TABLE change_receipts (
    hash        TEXT PRIMARY KEY,
    record_id   TEXT NOT NULL,
    device_id   TEXT NOT NULL,     -- a device, or `dashboard` for an office's edit
    person_id   TEXT NOT NULL,     -- the device's person, or the office person
    received_at INTEGER NOT NULL,
    relayed     INTEGER NOT NULL
);
CREATE INDEX change_receipts_record ON change_receipts(record_id);
