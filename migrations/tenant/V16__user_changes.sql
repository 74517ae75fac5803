-- Counts the changes to what a signed-in user is: their row, their departments, their
-- provider. The server keeps users between requests until this number moves, instead of
-- forgetting them at every write of the tenant.
CREATE TABLE user_changes (n INTEGER NOT NULL) STRICT;
INSERT INTO user_changes (n) VALUES (0);

CREATE TRIGGER user_changes_user_insert AFTER INSERT ON users BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_user_update AFTER UPDATE ON users BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_user_delete AFTER DELETE ON users BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_member_insert AFTER INSERT ON department_members BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_member_update AFTER UPDATE ON department_members BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_member_delete AFTER DELETE ON department_members BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_provider_update AFTER UPDATE ON service_providers BEGIN UPDATE user_changes SET n = n + 1; END;
CREATE TRIGGER user_changes_provider_delete AFTER DELETE ON service_providers BEGIN UPDATE user_changes SET n = n + 1; END;
