//! A JSON-tree deserializer that reads `null` the way Easegress does.
//!
//! Easegress converts YAML to JSON and unmarshals it with Go's `encoding/json` into a struct
//! pre-filled with the kind's default spec. There a JSON `null` never fails: for a struct
//! field it leaves the field as it was (its default, or the type's zero value when there is
//! none); in a list or a map it gives the element type's zero value. So `keyBase64:` (a key
//! with nothing after it) is the same as leaving the key out.
//!
//! [`Nulls`] wraps a `serde_json::Value` and does the same for every type:
//! - a struct field whose value is `null` is treated as absent, so it takes its
//!   `#[serde(default)]` (a field without a default is then reported missing);
//! - anywhere else (`Option`, list elements, map values, a whole nested struct) `null` reads
//!   as the zero value the target asks for: `""`, `0`, `false`, an empty list or map, a
//!   struct of defaults, `None`.
//!
//! Non-null values behave exactly as with `serde_json::Value`'s own deserializer.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Value};

/// A deserializer over a borrowed JSON tree that reads `null` as Easegress does.
#[derive(Clone, Copy)]
pub struct Nulls<'de>(pub &'de Value);

macro_rules! scalar {
    ($($method:ident => $zero:expr),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.0 {
                    Value::Null => {
                        let zero: fn(V) -> Result<V::Value, Error> = $zero;
                        zero(visitor)
                    }
                    Value::Array(_) | Value::Object(_) => self.deserialize_any(visitor),
                    v => v.$method(visitor),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Nulls<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            Value::Object(map) => visitor.visit_map(Fields::new(map, None)),
            Value::String(s) => visitor.visit_borrowed_str(s),
            v => v.deserialize_any(visitor),
        }
    }

    scalar! {
        deserialize_bool => |v| v.visit_bool(false),
        deserialize_i8 => |v| v.visit_i64(0),
        deserialize_i16 => |v| v.visit_i64(0),
        deserialize_i32 => |v| v.visit_i64(0),
        deserialize_i64 => |v| v.visit_i64(0),
        deserialize_i128 => |v| v.visit_i64(0),
        deserialize_u8 => |v| v.visit_u64(0),
        deserialize_u16 => |v| v.visit_u64(0),
        deserialize_u32 => |v| v.visit_u64(0),
        deserialize_u64 => |v| v.visit_u64(0),
        deserialize_u128 => |v| v.visit_u64(0),
        deserialize_f32 => |v| v.visit_f64(0.0),
        deserialize_f64 => |v| v.visit_f64(0.0),
        deserialize_str => |v| v.visit_borrowed_str(""),
        deserialize_string => |v| v.visit_borrowed_str(""),
        deserialize_bytes => |v| v.visit_borrowed_bytes(&[]),
        deserialize_byte_buf => |v| v.visit_borrowed_bytes(&[]),
        deserialize_unit => |v| v.visit_unit(),
        deserialize_char => |v| Err(de::Error::invalid_type(de::Unexpected::Unit, &v)),
        deserialize_identifier => |v| v.visit_borrowed_str(""),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_seq(Empty),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_map(Empty),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_map(Empty),
            Value::Object(map) => visitor.visit_map(Fields::new(map, Some(fields))),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((variant, value)) => visitor.visit_enum(Variant { variant, value }),
                None => Err(de::Error::invalid_length(0, &"a map with a single key")),
            },
            v => Err(de::Error::invalid_type(unexpected(v), &"an enum")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// The elements of a list.
struct Seq<'de>(std::slice::Iter<'de, Value>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(v) => seed.deserialize(Nulls(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// The entries of a map or the fields of a struct. For a struct (`fields` given), a known
/// field whose value is `null` is skipped, so it keeps its default.
struct Fields<'de> {
    iter: serde_json::map::Iter<'de>,
    fields: Option<&'static [&'static str]>,
    value: Option<&'de Value>,
}

impl<'de> Fields<'de> {
    fn new(map: &'de Map<String, Value>, fields: Option<&'static [&'static str]>) -> Self {
        Fields {
            iter: map.iter(),
            fields,
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, value) in self.iter.by_ref() {
            if value.is_null() && self.fields.is_some_and(|f| f.contains(&key.as_str())) {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(Key(key)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(Nulls(v)),
            None => Err(de::Error::custom(
                "a map value was asked for before its key",
            )),
        }
    }
}

/// An empty list or map: what `null` reads as where one is expected.
struct Empty;

impl<'de> SeqAccess<'de> for Empty {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        _: T,
    ) -> Result<Option<T::Value>, Error> {
        Ok(None)
    }
}

impl<'de> MapAccess<'de> for Empty {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, _: K) -> Result<Option<K::Value>, Error> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom(
            "a map value was asked for before its key",
        ))
    }
}

/// A map key: a string, also readable as a number (as JSON object keys are in Go).
struct Key<'de>(&'de String);

macro_rules! number_key {
    ($($method:ident: $t:ty => $visit:ident),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                match self.0.parse::<$t>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => visitor.visit_borrowed_str(self.0),
                }
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    number_key! {
        deserialize_i8: i8 => visit_i8,
        deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32,
        deserialize_i64: i64 => visit_i64,
        deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16,
        deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64,
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.0.as_str().into_deserializer())
    }

    forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string bytes byte_buf option unit unit_struct seq
        tuple tuple_struct map struct identifier ignored_any
    }
}

/// An externally tagged enum variant with content: `{variant: value}`.
struct Variant<'de> {
    variant: &'de String,
    value: &'de Value,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Nulls<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Nulls<'de>), Error> {
        let v = seed.deserialize(Key(self.variant))?;
        Ok((v, Nulls(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for Nulls<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            v => Err(de::Error::invalid_type(unexpected(v), &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_struct("", fields, visitor)
    }
}
