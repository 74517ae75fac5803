-- Indexes that serve every list's default sort *with* its `id` tie-breaker, alone and
-- under each documented filter, so a page is read from an index in order (no sort of
-- all the matching rows) and its COUNT is a range count of the same index. Each one
-- replaces an older index that it extends (same leading columns), so writes maintain
-- no more indexes than before except `calls_inserted` and `customers_name`/`users_name`.

-- Appointments: soonest first (`scheduled_at`, `id`), by agent, by department, by status.
DROP INDEX appointments_time;
CREATE INDEX appointments_time ON appointments (scheduled_at, id);
DROP INDEX appointments_user_time;
CREATE INDEX appointments_user_time ON appointments (user_id, scheduled_at, id);
DROP INDEX appointments_department_time;
CREATE INDEX appointments_department_time ON appointments (department_id, scheduled_at, id);
DROP INDEX appointments_status_time;
CREATE INDEX appointments_status_time ON appointments (status, scheduled_at, id);

-- Calls: newest first (`inserted_at`, `id`), by status, department, agent, provider.
-- `calls_report` keeps serving the reports; the queue keeps `calls_queue`.
CREATE INDEX calls_inserted ON calls (inserted_at, id);
DROP INDEX calls_status;
CREATE INDEX calls_status ON calls (status, inserted_at, id);
DROP INDEX calls_department_time;
CREATE INDEX calls_department_time ON calls (department_id, inserted_at, id);
DROP INDEX calls_user;
CREATE INDEX calls_user ON calls (user_id, inserted_at, id);
DROP INDEX calls_provider;
CREATE INDEX calls_provider ON calls (provider_id, inserted_at, id);

-- Customers and users: by name as the lists sort it (case-insensitive), then `id`.
CREATE INDEX customers_name ON customers (name COLLATE NOCASE, id);
CREATE INDEX users_name ON users (name COLLATE NOCASE, id);
DROP INDEX users_provider;
CREATE INDEX users_provider ON users (provider_id, name COLLATE NOCASE, id);

-- Access links: newest first, by department.
DROP INDEX access_links_inserted;
CREATE INDEX access_links_inserted ON access_links (inserted_at, id);
DROP INDEX access_links_department;
CREATE INDEX access_links_department ON access_links (department_id, inserted_at, id);

-- Notifications: newest first within a user (`rowid`, the tie-breaker, ends every
-- index already); the unread ones in the same order.
DROP INDEX notifications_user_unread;
CREATE INDEX notifications_user_unread ON notifications (user_id, inserted_at) WHERE read_at IS NULL;
