-- Reports without date arithmetic per call. A report over a period scans the
-- `calls_report` index; SQLite cannot keep `unixepoch(text)` in an index, so each call now
-- carries its waiting and talking seconds as integers (kept by the triggers below), and
-- each customer carries the time of their first call, so the new customers of a period
-- are one index range instead of a lookup per customer.

ALTER TABLE calls ADD COLUMN wait_secs INTEGER;
ALTER TABLE calls ADD COLUMN talk_secs INTEGER;
UPDATE calls SET
    wait_secs = unixepoch(started_at) - unixepoch(inserted_at),
    talk_secs = CASE WHEN status = 'completed' THEN unixepoch(completed_at) - unixepoch(started_at) END;
CREATE TRIGGER calls_figures_on_insert AFTER INSERT ON calls BEGIN
    UPDATE calls SET
        wait_secs = unixepoch(NEW.started_at) - unixepoch(NEW.inserted_at),
        talk_secs = CASE WHEN NEW.status = 'completed' THEN unixepoch(NEW.completed_at) - unixepoch(NEW.started_at) END
    WHERE id = NEW.id;
END;
CREATE TRIGGER calls_figures_on_update AFTER UPDATE OF inserted_at, started_at, completed_at, status ON calls BEGIN
    UPDATE calls SET
        wait_secs = unixepoch(NEW.started_at) - unixepoch(NEW.inserted_at),
        talk_secs = CASE WHEN NEW.status = 'completed' THEN unixepoch(NEW.completed_at) - unixepoch(NEW.started_at) END
    WHERE id = NEW.id;
END;

DROP INDEX calls_report;
CREATE INDEX calls_report ON calls (inserted_at, status, wait_secs, talk_secs, rating,
                                    department_id, provider_id, user_id, customer_id);

-- A customer's first call ever, in any department (NULL: none yet).
ALTER TABLE customers ADD COLUMN first_call_at TEXT;
UPDATE customers SET first_call_at = (SELECT min(c.inserted_at) FROM calls c WHERE c.customer_id = customers.id);
CREATE INDEX customers_first_call ON customers (first_call_at) WHERE first_call_at IS NOT NULL;
CREATE TRIGGER calls_first_call_on_insert AFTER INSERT ON calls WHEN NEW.customer_id IS NOT NULL BEGIN
    UPDATE customers SET first_call_at = NEW.inserted_at
    WHERE id = NEW.customer_id AND (first_call_at IS NULL OR first_call_at > NEW.inserted_at);
END;
-- A call moved to another customer (a merge): both customers' first calls are read again.
CREATE TRIGGER calls_first_call_on_move AFTER UPDATE OF customer_id, inserted_at ON calls BEGIN
    UPDATE customers SET first_call_at = (SELECT min(c.inserted_at) FROM calls c WHERE c.customer_id = customers.id)
    WHERE id IN (OLD.customer_id, NEW.customer_id);
END;
CREATE TRIGGER calls_first_call_on_delete AFTER DELETE ON calls WHEN OLD.customer_id IS NOT NULL BEGIN
    UPDATE customers SET first_call_at = (SELECT min(c.inserted_at) FROM calls c WHERE c.customer_id = customers.id)
    WHERE id = OLD.customer_id;
END;
