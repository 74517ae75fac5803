//! The topics of the socket (SPEC §5) by name: `queue:<department_id>`,
//! `presence:<department_id>`, `notification:<user_id>`, `call:<call_id>`, `dashboard`.
//! Who may join each and what they may push is [`super::admission`].

pub const DASHBOARD: &str = "dashboard";

pub fn queue(department_id: &str) -> String {
    format!("queue:{department_id}")
}

pub fn presence(department_id: &str) -> String {
    format!("presence:{department_id}")
}

pub fn notification(user_id: &str) -> String {
    format!("notification:{user_id}")
}

pub fn call(call_id: &str) -> String {
    format!("call:{call_id}")
}

/// A topic this server handles. The id is as the client wrote it; a join checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicKind {
    Queue(String),
    Presence(String),
    Notification(String),
    Call(String),
    Dashboard,
}

impl TopicKind {
    /// `None` for a topic nobody handles ("unmatched topic").
    pub fn parse(topic: &str) -> Option<TopicKind> {
        if topic == DASHBOARD {
            return Some(TopicKind::Dashboard);
        }
        let (prefix, id) = topic.split_once(':')?;
        let id = id.to_string();
        match prefix {
            "queue" => Some(TopicKind::Queue(id)),
            "presence" => Some(TopicKind::Presence(id)),
            "notification" => Some(TopicKind::Notification(id)),
            "call" => Some(TopicKind::Call(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_by_prefix() {
        assert_eq!(TopicKind::parse("queue:abc"), Some(TopicKind::Queue("abc".into())));
        assert_eq!(TopicKind::parse("dashboard"), Some(TopicKind::Dashboard));
        assert_eq!(TopicKind::parse("room:lobby"), None);
        assert_eq!(TopicKind::parse("phoenix"), None);
    }
}
