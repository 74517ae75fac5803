//! Phoenix Channels V2 JSON frames: one text frame holds `[join_ref, ref, topic, event,
//! payload]`. Refs are opaque strings from the client, echoed exactly (the official
//! client compares them with `===`, so a number in place of a string is dropped).

use serde_json::{Map, Value, json};

/// One frame in either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub join_ref: Option<String>,
    pub reference: Option<String>,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

/// A client frame that is not a V2 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFrame;

fn optional_ref(value: &Value) -> Result<Option<String>, InvalidFrame> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        _ => Err(InvalidFrame),
    }
}

impl Frame {
    /// Reads a client frame: an array of at least five elements (extra ones are ignored,
    /// as the client does), string-or-null refs, string topic and event, object payload.
    pub fn parse(text: &str) -> Result<Frame, InvalidFrame> {
        let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
            return Err(InvalidFrame);
        };
        let [
            join_ref,
            reference,
            Value::String(topic),
            Value::String(event),
            payload @ Value::Object(_),
            ..,
        ] = items.as_slice()
        else {
            return Err(InvalidFrame);
        };
        Ok(Frame {
            join_ref: optional_ref(join_ref)?,
            reference: optional_ref(reference)?,
            topic: topic.clone(),
            event: event.clone(),
            payload: payload.clone(),
        })
    }

    pub fn encode(&self) -> String {
        json!([self.join_ref, self.reference, self.topic, self.event, self.payload]).to_string()
    }

    /// The `phx_reply` to this frame, with its refs.
    pub fn reply(&self, status: &str, response: Value) -> Frame {
        Frame {
            join_ref: self.join_ref.clone(),
            reference: self.reference.clone(),
            topic: self.topic.clone(),
            event: "phx_reply".into(),
            payload: json!({"status": status, "response": response}),
        }
    }

    pub fn ok(&self, response: Value) -> Frame {
        self.reply("ok", response)
    }

    /// An error reply `{"reason": reason}`.
    pub fn error(&self, reason: &str) -> Frame {
        self.reply("error", json!({ "reason": reason }))
    }

    /// The reply to a frame for a topic nobody handles or that this connection has not
    /// joined: as Phoenix sends it, without a `join_ref`.
    pub fn unmatched(&self) -> Frame {
        let mut reply = self.error("unmatched topic");
        reply.join_ref = None;
        reply
    }

    /// A message to one subscriber: `[join_ref, null, topic, event, payload]`.
    pub fn push(join_ref: &str, topic: &str, event: &str, payload: Value) -> Frame {
        Frame {
            join_ref: Some(join_ref.to_string()),
            reference: None,
            topic: topic.to_string(),
            event: event.to_string(),
            payload,
        }
    }

    /// A message to every subscriber: `[null, null, topic, event, payload]`.
    pub fn broadcast(topic: &str, event: &str, payload: Value) -> Frame {
        Frame {
            join_ref: None,
            reference: None,
            topic: topic.to_string(),
            event: event.to_string(),
            payload,
        }
    }

    /// Ends one join from the server side: `[join_ref, join_ref, topic, "phx_close", {}]`;
    /// the client does not rejoin.
    pub fn close(join_ref: &str, topic: &str) -> Frame {
        Frame {
            join_ref: Some(join_ref.to_string()),
            reference: Some(join_ref.to_string()),
            topic: topic.to_string(),
            event: "phx_close".into(),
            payload: Value::Object(Map::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_round_trips_with_its_refs_as_strings() {
        let join = Frame::parse(r#"["3","3","queue:abc","phx_join",{"x":1},"extra"]"#).unwrap();
        assert_eq!(join.join_ref.as_deref(), Some("3"));
        assert_eq!(join.topic, "queue:abc");
        assert_eq!(
            join.ok(json!({})).encode(),
            r#"["3","3","queue:abc","phx_reply",{"response":{},"status":"ok"}]"#
        );
        let heartbeat = Frame::parse(r#"[null,"4","phoenix","heartbeat",{}]"#).unwrap();
        assert_eq!(heartbeat.join_ref, None);
        assert_eq!(
            heartbeat.unmatched().encode(),
            r#"[null,"4","phoenix","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]"#
        );
    }

    #[test]
    fn anything_else_is_not_a_frame() {
        for bad in [
            "",
            "{}",
            "[]",
            r#"["1","1","t","e"]"#,
            r#"[1,"1","t","e",{}]"#,
            r#"["1","1",7,"e",{}]"#,
            r#"["1","1","t","e",[]]"#,
            r#"["1","1","t","e","payload"]"#,
            "[\"1\",\"1\",\"t\",\"e\",{}",
        ] {
            assert_eq!(Frame::parse(bad), Err(InvalidFrame), "{bad}");
        }
    }
}
