-- A signature request (`request_signature`) is recorded beside transaction requests, its review in
-- the report column; the wallet's answer is 'signed', with the signature in `detail`.
ALTER TABLE transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE transactions ADD CONSTRAINT transactions_status_check
    CHECK (status IN ('pending', 'sent', 'rejected', 'failed', 'held', 'signed'));
