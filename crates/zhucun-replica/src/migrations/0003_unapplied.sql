-- zhucun replica schema, version 3: records the server sent that this device could not apply
-- (changes that wait for changes it does not have, bytes it could not read). The cursor moves
-- on past them; the sync engine fetches each again through Automerge's sync protocol until
-- it lands, so nothing sent to this device is dropped.
CREATE TABLE pull_unapplied (
    id       TEXT PRIMARY KEY,
    reason   TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
