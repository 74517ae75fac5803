-- A widget caller matched to an existing customer by the e-mail or phone they typed:
-- the agent sees the name they typed, marked unverified, and the stored customer is
-- left as it was.
ALTER TABLE calls ADD COLUMN caller_name TEXT;
ALTER TABLE calls ADD COLUMN customer_verified INTEGER NOT NULL DEFAULT 1;
