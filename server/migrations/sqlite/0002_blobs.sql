-- Attachments each record refers to, so a device may download a blob only when a record in
-- its scope refers to it.
CREATE TABLE record_blobs (
    record_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (hash, record_id)
);
