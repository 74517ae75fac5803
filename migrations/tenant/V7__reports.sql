-- Reports and exports over many calls.
--
-- A call carries its rating (copied from its one evaluation by the triggers below), so
-- reports and lists read a call without looking up its evaluation.
ALTER TABLE calls ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
UPDATE calls SET rating = (SELECT e.rating FROM evaluations e WHERE e.call_id = calls.id);
CREATE TRIGGER evaluations_rate_call AFTER INSERT ON evaluations BEGIN
    UPDATE calls SET rating = NEW.rating WHERE id = NEW.call_id;
END;
CREATE TRIGGER evaluations_rerate_call AFTER UPDATE OF rating, call_id ON evaluations BEGIN
    UPDATE calls SET rating = NULL WHERE id = OLD.call_id;
    UPDATE calls SET rating = NEW.rating WHERE id = NEW.call_id;
END;
CREATE TRIGGER evaluations_unrate_call AFTER DELETE ON evaluations BEGIN
    UPDATE calls SET rating = NULL WHERE id = OLD.call_id;
END;

-- Every figure of a report comes from this index alone (no table lookups): the period
-- is its first column, the filters and the measured times follow. It replaces the plain
-- index on `inserted_at`.
DROP INDEX calls_inserted;
CREATE INDEX calls_report ON calls (inserted_at, status, started_at, completed_at, rating,
                                    department_id, provider_id, user_id, customer_id);
-- One department's calls by time; each customer's first call (new customers of a
-- period). The customer index also serves what the old one did (a customer's calls).
CREATE INDEX calls_department_time ON calls (department_id, inserted_at);
DROP INDEX calls_customer;
CREATE INDEX calls_customer ON calls (customer_id, inserted_at);
