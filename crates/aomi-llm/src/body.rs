//! [`Fields`]: a JSON request body's top-level fields, their values unparsed.
//!
//! The transport changes a few fields of the body rig encoded (the compatible servers' content
//! rules of [`crate::compat`], the tool definitions of [`crate::tools`]) and copies the rest as
//! rig wrote it: the messages and the tool schemas are the bulk of a request, and parsing them
//! once more per model call would cost what the changes save.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON object's fields in order, their values unparsed.
pub(crate) struct Fields(Vec<(String, Box<RawValue>)>);

impl Fields {
    /// The fields of `bytes`; `None` when they are not a JSON object.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Fields> {
        serde_json::from_slice(bytes).ok()
    }

    /// The value of `key`, as written.
    pub(crate) fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, raw)| &**raw)
    }

    /// Replaces the value of `key`, in its place; `false` when the body has no such field.
    pub(crate) fn replace(&mut self, key: &str, value: Box<RawValue>) -> bool {
        match self.0.iter_mut().find(|(name, _)| name == key) {
            Some((_, raw)) => {
                *raw = value;
                true
            }
            None => false,
        }
    }

    /// The body as bytes again.
    pub(crate) fn to_vec(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(self).ok()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(key, value)| (key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_replaced_in_place_and_the_rest_kept_byte_for_byte() {
        let Some(mut fields) = Fields::parse(br#"{"model":"m","tools":[{"a":1.0}],"stream":true}"#) else {
            panic!("an object")
        };
        assert_eq!(fields.get("tools").map(RawValue::get), Some(r#"[{"a":1.0}]"#));
        let replacement = RawValue::from_string("[2]".to_owned()).expect("json");
        assert!(fields.replace("tools", replacement.clone()));
        assert!(!fields.replace("absent", replacement));
        let text = fields.to_vec().map(String::from_utf8);
        assert_eq!(text, Some(Ok(r#"{"model":"m","tools":[2],"stream":true}"#.to_owned())));
        assert!(Fields::parse(b"[1]").is_none());
        assert!(Fields::parse(b"not json").is_none());
    }
}
