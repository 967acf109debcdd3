-- A proxy's implementation: the contract whose ABI the proxy's row carries (see contract.rs).
ALTER TABLE contracts ADD COLUMN implementation TEXT;  -- 0x + 40 lower-case hex digits
