//! Value: what a keyspace entry holds when it is not an inline small string.
//! Collections get their compact and full encodings here as their families land.

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string too large for the inline encoding, or edited in place (`raw`).
    Str(Vec<u8>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "raw",
        }
    }

    /// Approximate heap bytes owned by the value.
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => std::mem::size_of::<Vec<u8>>() + s.capacity(),
        }
    }
}
