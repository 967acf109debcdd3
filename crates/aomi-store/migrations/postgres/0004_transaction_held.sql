-- A transaction request the simulation held back is kept, as 'held' (see transaction.rs): only a
-- user message after the hold can send that same transaction anyway. `detail` holds that user
-- message's id for a held request.
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_status_check
    CHECK (status IN ('pending', 'sent', 'rejected', 'failed', 'held'));
