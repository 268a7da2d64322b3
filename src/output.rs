//! What `--output json` and `--output jsonl` print: proto3 JSON (camelCase
//! names, enum names as strings, default fields left out). One thing is a
//! JSON object; a list is a JSON array with `json` and one object per line
//! with `jsonl`. Text for people is printed by each command itself.

use serde_json::Value;

use crate::client::Output;

/// A protobuf message as proto3 JSON.
pub fn message<M: prost::Message>(msg: &M, full_name: &str) -> Value {
    // `to_json` writes valid JSON by construction.
    serde_json::from_str(&hedui_proto::to_json(msg, full_name)).unwrap_or(Value::Null)
}

/// Prints one value: pretty with `json`, on one line with `jsonl`.
pub fn one(v: &Value, output: Output) {
    match output {
        Output::Jsonl => println!("{v}"),
        Output::Json | Output::Human => println!("{}", pretty(v)),
    }
}

/// Prints a list: a JSON array with `json`, one value per line with `jsonl`.
pub fn list(items: Vec<Value>, output: Output) {
    match output {
        Output::Jsonl => {
            for v in items {
                println!("{v}");
            }
        }
        Output::Json | Output::Human => println!("{}", pretty(&Value::Array(items))),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The same value with every object key in lowerCamelCase (`record_digest`
/// → `recordDigest`), for JSON that is not a protobuf message (the audit
/// log's entries), so that all of `--output json` uses one naming.
pub fn camel(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (camel_key(&k), camel(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(camel).collect()),
        other => other,
    }
}

fn camel_key(k: &str) -> String {
    let mut out = String::with_capacity(k.len());
    let mut upper = false;
    for c in k.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_camel_case_all_the_way_down() {
        let v = serde_json::json!({"record_digest": "x", "persons": [{"id_hash": 1, "masked": "a"}], "seq": 3});
        assert_eq!(
            camel(v),
            serde_json::json!({"recordDigest": "x", "persons": [{"idHash": 1, "masked": "a"}], "seq": 3})
        );
        assert_eq!(camel_key("_x_y"), "xY");
    }
}
