//! [`Address`]: a wallet or contract address, validated once where it enters aomi.
//!
//! Every layer (routes, tools, the store, simulation) takes this type instead of a string, so an
//! address is checked in one place: `0x` and 40 hex digits, and where the text mixes upper and
//! lower case, a valid EIP-55 checksum (a mistyped character is caught, not used). All-lower and
//! all-upper text carries no checksum and is accepted as written.
//!
//! Two text forms, each for one purpose: [`Address::to_lowercase_hex`] is the canonical form that
//! the store keys on and the API answers with (serde uses it, so stored rows and JSON are what they
//! were before this type existed); `Display` writes the EIP-55 form that people and models read.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 20-byte EVM address. See the [module docs](self) for its text forms.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(alloy_primitives::Address);

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not `0x` followed by 40 hex digits.
    #[error("\"{0}\" is not an address (0x followed by 40 hex digits)")]
    Malformed(String),
    /// Mixed case whose EIP-55 checksum does not match: probably mistyped.
    #[error("\"{0}\" has a wrong EIP-55 checksum: a character's case is off, so the address may be mistyped")]
    BadChecksum(String),
}

impl Address {
    /// The zero address.
    pub const ZERO: Address = Address(alloy_primitives::Address::ZERO);

    /// Parses `0x` and 40 hex digits (surrounding spaces ignored); mixed case must carry a valid
    /// EIP-55 checksum.
    pub fn parse(text: &str) -> Result<Address, AddressError> {
        let trimmed = text.trim();
        let hex = trimmed.strip_prefix("0x").or_else(|| trimmed.strip_prefix("0X"));
        let Some(hex) = hex.filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit())) else {
            return Err(AddressError::Malformed(shorten(text)));
        };
        let mut bytes = [0u8; 20];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            bytes[i] = (nibble(pair[0]) << 4) | nibble(pair[1]);
        }
        let address = alloy_primitives::Address::from(bytes);
        let mixed = hex.bytes().any(|b| b.is_ascii_lowercase()) && hex.bytes().any(|b| b.is_ascii_uppercase());
        if mixed && address.to_checksum(None)[2..] != *hex {
            return Err(AddressError::BadChecksum(shorten(text)));
        }
        Ok(Address(address))
    }

    /// The canonical text: `0x` and 40 lower-case hex digits (what the store keys on).
    pub fn to_lowercase_hex(&self) -> String {
        format!("{:#x}", self.0)
    }

    /// The EIP-55 mixed-case text (what people and models read).
    pub fn to_checksum(&self) -> String {
        self.0.to_checksum(None)
    }

    /// The alloy address, for chain calls.
    pub const fn into_alloy(self) -> alloy_primitives::Address {
        self.0
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        self.0.as_ref()
    }
}

/// A hex digit's value; only called on checked hex digits.
fn nibble(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Input echoed in an error is cut, so a megabyte of junk is not echoed back whole.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

impl From<alloy_primitives::Address> for Address {
    fn from(address: alloy_primitives::Address) -> Self {
        Address(address)
    }
}

impl From<Address> for alloy_primitives::Address {
    fn from(address: Address) -> Self {
        address.0
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Address::parse(text)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_lowercase_hex())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Address::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The JSON schema a model sees for an address argument.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Address {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Address".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^0[xX][0-9a-fA-F]{40}$",
            "description": "an address: 0x followed by 40 hex digits"
        })
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Address {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^0[xX][0-9a-fA-F]{40}$"))
            .description(Some("An address: 0x followed by 40 hex digits; mixed case must be a valid EIP-55 checksum."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Address {}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKSUMMED: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn a_valid_checksum_parses_and_round_trips() {
        let address = Address::parse(CHECKSUMMED).unwrap();
        assert_eq!(address.to_checksum(), CHECKSUMMED);
        assert_eq!(address.to_string(), CHECKSUMMED);
        assert_eq!(address.to_lowercase_hex(), CHECKSUMMED.to_lowercase());
    }

    #[test]
    fn one_character_of_the_wrong_case_is_refused() {
        let typo = CHECKSUMMED.replacen("aA", "aa", 1);
        assert_eq!(Address::parse(&typo), Err(AddressError::BadChecksum(typo.clone())));
    }

    #[test]
    fn single_case_text_needs_no_checksum() {
        let lower = Address::parse(&CHECKSUMMED.to_lowercase()).unwrap();
        let upper = Address::parse(&format!("0x{}", CHECKSUMMED[2..].to_uppercase())).unwrap();
        assert_eq!(lower, upper);
        assert_eq!(lower, Address::parse(&format!("  {CHECKSUMMED} ")).unwrap());
    }

    #[test]
    fn malformed_text_is_refused_and_echoed_short() {
        for bad in [
            "",
            "0x",
            "0x1234",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xZZaeb6053f3e94c9b9a09f33669435e7ef1beaed",
        ] {
            assert!(matches!(Address::parse(bad), Err(AddressError::Malformed(_))), "{bad}");
        }
        let huge = "x".repeat(10_000);
        let AddressError::Malformed(echo) = Address::parse(&huge).unwrap_err() else { panic!("not malformed") };
        assert!(echo.len() < 100);
    }

    #[test]
    fn serde_writes_the_canonical_form_and_checks_on_read() {
        let address = Address::parse(CHECKSUMMED).unwrap();
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(json, format!("\"{}\"", CHECKSUMMED.to_lowercase()));
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
        let typo = format!("\"{}\"", CHECKSUMMED.replacen("aA", "aa", 1));
        let error = serde_json::from_str::<Address>(&typo).unwrap_err().to_string();
        assert!(error.contains("EIP-55"), "{error}");
    }

    #[test]
    fn converts_to_and_from_alloy() {
        let alloy: alloy_primitives::Address = CHECKSUMMED.parse().unwrap();
        let ours = Address::from(alloy);
        assert_eq!(ours.into_alloy(), alloy);
        assert_eq!(ours.as_bytes(), &alloy.0.0);
    }
}
