-- zhucun replica schema, version 2: what the server said about a record it refused, so the
-- device shows the reason and does not send the same changes again.
ALTER TABLE sync_state ADD COLUMN reject_heads TEXT;
ALTER TABLE sync_state ADD COLUMN reject_code TEXT;
ALTER TABLE sync_state ADD COLUMN reject_message TEXT;
