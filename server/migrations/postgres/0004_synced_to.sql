-- The cursor of the last sync round the server answered each device. A device that asks from
-- an earlier point (restored from a copy of its data, or an answer lost on the way) lacks
-- what it pushed since then, so the pull sends it back its own entries up to this point.
-- Shipped migrations are never edited.
ALTER TABLE devices ADD COLUMN synced_to BIGINT NOT NULL DEFAULT 0;
