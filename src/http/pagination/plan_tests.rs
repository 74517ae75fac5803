//! The query plans of the lists (`EXPLAIN QUERY PLAN` on a migrated tenant database):
//! for the default sort, alone and under each documented filter, the page is read from an
//! index in order — never sorted in a temporary B-tree — and the COUNT reads the listed
//! table alone, through the index of the filter. These guard the indexes of the tenant
//! migrations: drop or reorder one and a test here names the list and the filter.

use rusqlite::Connection;

use crate::access_links::{self, LinkStatus};
use crate::appointments::{self, Status, store::AppointmentFilters};
use crate::auth::Role;
use crate::auth::Visibility;
use crate::calls::{self, CallStatus, store::CallFilters};
use crate::db::query::DateRange;
use crate::db::query::{Order, SortSpec, statements_of, unneeded_joins};
use crate::http::pagination::Paging;
use crate::users::store::UserFilters;
use crate::{customers, notifications, users};

fn tenant_database() -> (Connection, tempfile::TempDir) {
    crate::testing::test_tenant_database()
}

fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    crate::testing::query_plan(conn, sql)
}

fn default_order(spec: &SortSpec) -> Order {
    Paging::first(spec.default_page_size)
        .order(spec)
        .expect("default order")
}

/// Checks the statements of one list call: `case` names it in failures; `index`, when
/// given, is the index (and its constraint) the page must be read from.
fn check(conn: &Connection, case: &str, index: Option<&str>, run: impl FnOnce()) {
    let statements = statements_of(run);
    assert!(
        statements.len() >= 2,
        "{case}: expected a count and a page, got {statements:?}"
    );
    for sql in &statements {
        let plan = plan(conn, sql);
        let text = plan.join(" | ");
        assert!(
            !text.contains("TEMP B-TREE"),
            "{case}: sorts instead of reading an index in order\n{sql}\n{text}"
        );
        if let Some(counted) = sql.strip_prefix("SELECT count(*) FROM ") {
            let (from, conditions) = counted.split_once(" WHERE ").unwrap_or((counted, ""));
            let unneeded = unneeded_joins(from, conditions);
            assert!(
                unneeded.is_empty(),
                "{case}: the count joins {unneeded:?}, which it does not need\n{sql}"
            );
        } else if let Some(index) = index {
            assert!(text.contains(index), "{case}: does not search {index}\n{sql}\n{text}");
        }
    }
}

/// For a filter that selects several index ranges: each is searched, and the plan sorts
/// only what they hold.
fn check_filtered_then_sorted(conn: &Connection, case: &str, index: &str, run: impl FnOnce()) {
    for sql in statements_of(run) {
        let text = plan(conn, &sql).join(" | ");
        assert!(text.contains(index), "{case}: does not search {index}\n{sql}\n{text}");
        assert!(
            !text.contains("SCAN"),
            "{case}: scans instead of searching\n{sql}\n{text}"
        );
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[test]
fn appointment_lists_read_an_index_in_order_for_every_filter() {
    let (conn, _dir) = tenant_database();
    let order = default_order(&appointments::store::SORT);
    let everyone = Visibility::All;
    let list = |filters: AppointmentFilters, viewer: &Visibility| {
        appointments::store::list(&conn, &filters, viewer, &order).expect("list");
    };
    check(&conn, "appointments, default sort", Some("appointments_time"), || {
        list(AppointmentFilters::default(), &everyone)
    });
    check(
        &conn,
        "appointments?user_id",
        Some("appointments_user_time (user_id=?)"),
        || {
            let filters = AppointmentFilters {
                user_id: Some(uuid()),
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    check(
        &conn,
        "appointments?user_id&date_from&date_to",
        Some("appointments_user_time (user_id=? AND scheduled_at>? AND scheduled_at<?)"),
        || {
            let filters = AppointmentFilters {
                user_id: Some(uuid()),
                dates: DateRange::parse(Some("2026-01-01"), Some("2026-01-31")).expect("dates"),
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    check(
        &conn,
        "appointments?department_id",
        Some("appointments_department_time (department_id=?)"),
        || {
            let filters = AppointmentFilters {
                department_id: Some(uuid()),
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    check(
        &conn,
        "appointments?status",
        Some("appointments_status_time (status=?)"),
        || {
            let filters = AppointmentFilters {
                statuses: vec![Status::Confirmed],
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    check(
        &conn,
        "appointments?date_from",
        Some("appointments_time (scheduled_at>?)"),
        || {
            let filters = AppointmentFilters {
                dates: DateRange::parse(Some("2026-01-01"), None).expect("dates"),
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    check(&conn, "appointments?overdue", None, || {
        let filters = AppointmentFilters {
            overdue: Some(true),
            ..Default::default()
        };
        list(filters, &everyone)
    });
    // The one filter an index cannot serve in order: the appointments of several agents
    // (the provider's, whoever they are now). Each agent's are read from their index
    // range; only those rows are sorted, never the whole table.
    check_filtered_then_sorted(
        &conn,
        "appointments?provider_id",
        "appointments_user_time (user_id=?)",
        || {
            let filters = AppointmentFilters {
                provider_id: Some(uuid()),
                ..Default::default()
            };
            list(filters, &everyone)
        },
    );
    let attendant = Visibility::Attendant {
        user_id: uuid(),
        department_ids: vec![uuid()],
    };
    // An attendant sees their departments' appointments and their own: those index
    // ranges are searched and only their rows sorted.
    check_filtered_then_sorted(
        &conn,
        "appointments as an attendant",
        "appointments_department_time (department_id=?)",
        || list(AppointmentFilters::default(), &attendant),
    );
    check(
        &conn,
        "appointments?user_id as an attendant",
        Some("appointments_user_time (user_id=?)"),
        || {
            let filters = AppointmentFilters {
                user_id: Some(uuid()),
                ..Default::default()
            };
            list(filters, &attendant)
        },
    );
}

#[test]
fn call_lists_read_an_index_in_order_for_every_filter() {
    let (conn, _dir) = tenant_database();
    let order = default_order(&calls::store::SORT);
    let list = |filters: CallFilters| {
        calls::store::list(&conn, &Visibility::All, &filters, &order).expect("list");
    };
    check(&conn, "calls, default sort", Some("calls_inserted"), || {
        list(CallFilters::default())
    });
    check(&conn, "calls?status", Some("calls_status (status=?)"), || {
        list(CallFilters {
            status: Some(CallStatus::Completed),
            ..Default::default()
        })
    });
    check(
        &conn,
        "calls?department_id",
        Some("calls_department_time (department_id=?)"),
        || {
            list(CallFilters {
                department_id: Some(uuid()),
                ..Default::default()
            })
        },
    );
    check(&conn, "calls?user_id", Some("calls_user (user_id=?)"), || {
        list(CallFilters {
            user_id: Some(uuid()),
            ..Default::default()
        })
    });
    check(
        &conn,
        "calls?provider_id",
        Some("calls_provider (provider_id=?)"),
        || {
            list(CallFilters {
                provider_id: Some(uuid()),
                ..Default::default()
            })
        },
    );
    check(
        &conn,
        "calls?date_from&date_to",
        Some("calls_inserted (inserted_at>? AND inserted_at<?)"),
        || {
            list(CallFilters {
                dates: DateRange::parse(Some("2026-01-01"), Some("2026-01-31")).expect("dates"),
                ..Default::default()
            })
        },
    );
    check(&conn, "calls?search", None, || {
        list(CallFilters {
            search: Some("maria".into()),
            ..Default::default()
        })
    });
    let agent = Visibility::Attendant {
        user_id: uuid(),
        department_ids: vec![uuid()],
    };
    check_filtered_then_sorted(
        &conn,
        "calls as an attendant",
        "calls_department_time (department_id=?)",
        || {
            calls::store::list(&conn, &agent, &CallFilters::default(), &order).expect("list");
        },
    );
}

#[test]
fn customer_user_link_and_notification_lists_read_an_index_in_order() {
    let (conn, _dir) = tenant_database();

    let order = default_order(&customers::store::SORT);
    check(&conn, "customers, default sort", Some("customers_name"), || {
        customers::store::list(&conn, None, &order).expect("list");
    });
    check(&conn, "customers?search", Some("customers_name"), || {
        customers::store::list(&conn, Some("silva"), &order).expect("list");
    });

    let order = default_order(&users::store::SORT);
    let list = |filters: UserFilters| {
        users::store::list(&conn, &filters, &order).expect("list");
    };
    check(&conn, "users, default sort", Some("users_name"), || {
        list(UserFilters::default())
    });
    check(&conn, "users?search", Some("users_name"), || {
        list(UserFilters {
            search: Some("ana".into()),
            ..Default::default()
        })
    });
    check(&conn, "users?role&active", Some("users_name"), || {
        list(UserFilters {
            role: Some(Role::Attendant),
            active: Some(true),
            ..Default::default()
        })
    });
    check(&conn, "users?department_id", None, || {
        list(UserFilters {
            department_id: Some(uuid()),
            ..Default::default()
        })
    });
    check(
        &conn,
        "users?provider_id",
        Some("users_provider (provider_id=?)"),
        || {
            list(UserFilters {
                provider_id: Some(uuid()),
                ..Default::default()
            })
        },
    );

    let order = default_order(&access_links::store::SORT);
    let list = |filters: access_links::store::LinkFilters| {
        access_links::store::list(&conn, "http://voki.test", &filters, &order).expect("list");
    };
    check(
        &conn,
        "access links, default sort",
        Some("access_links_inserted"),
        || list(Default::default()),
    );
    check(
        &conn,
        "access links?department_id",
        Some("access_links_department (department_id=?)"),
        || {
            list(access_links::store::LinkFilters {
                department_id: Some(uuid()),
                ..Default::default()
            })
        },
    );
    check(&conn, "access links?status", None, || {
        list(access_links::store::LinkFilters {
            status: Some(LinkStatus::Active),
            ..Default::default()
        })
    });

    let order = default_order(&notifications::store::SORT);
    let user = uuid();
    for (case, unread, index) in [
        ("notifications", None, "notifications_user_time (user_id=?)"),
        (
            "notifications?unread=true",
            Some(true),
            "notifications_user_unread (user_id=?)",
        ),
        (
            "notifications?unread=false",
            Some(false),
            "notifications_user_time (user_id=?)",
        ),
    ] {
        check(&conn, case, Some(index), || {
            notifications::store::list(&conn, &user, unread, &order).expect("list");
        });
    }
}

#[test]
fn audit_lists_read_an_index_in_order_for_every_filter() {
    use crate::audit::store::{self as audit, AuditFilters};
    let (conn, _dir) = tenant_database();
    let order = default_order(&audit::SORT);
    let text = |value: &str| Some(value.to_string());
    let cases = [
        ("audit log, default sort", "audit_log_at", AuditFilters::default()),
        (
            "audit log?object_type&object_id",
            "audit_log_object (object_id=?)",
            AuditFilters {
                object_type: text("customer"),
                object_id: Some(uuid()),
                ..Default::default()
            },
        ),
        (
            "audit log?object_id",
            "audit_log_object (object_id=?)",
            AuditFilters {
                object_id: Some(uuid()),
                ..Default::default()
            },
        ),
        (
            "audit log?object_type",
            "audit_log_type (object_type=?)",
            AuditFilters {
                object_type: text("customer"),
                ..Default::default()
            },
        ),
        (
            "audit log?actor_id",
            "audit_log_actor (actor_id=?)",
            AuditFilters {
                actor_id: Some(uuid()),
                ..Default::default()
            },
        ),
        (
            "audit log?action",
            "audit_log_at",
            AuditFilters {
                action: text("customer.create"),
                ..Default::default()
            },
        ),
        (
            "audit log?date_from&date_to",
            "audit_log_at",
            AuditFilters {
                dates: DateRange::parse(Some("2026-01-01"), Some("2026-01-31")).expect("dates"),
                ..Default::default()
            },
        ),
    ];
    for (case, index, filters) in cases {
        check(&conn, case, Some(index), || {
            audit::list(&conn, &filters, &order).expect("list");
        });
    }
}
