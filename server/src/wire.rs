//! [`wire_enum!`]: enums whose variants have names on the wire, declared as one table.
//!
//! Error codes, scopes, event types, roles and job kinds are each an enum whose variants have
//! a wire name, and some carry more (an error code's status, title and meaning). Written by
//! hand, each kept several parallel lists — the variants, `ALL`, `as_str`, and a `match` per
//! attribute — that had to be kept in step. Declared with the macro, each variant is one row.

/// Declares a fieldless enum from a table of `Variant = "wire name"` rows (the name a plain
/// token, not a `literal` fragment: utoipa reads the serde rename only as one), with the serde
/// rename of each, and generates `ALL` (in table order), `as_str`, `parse` and `Display`.
/// Rows may carry data (`Variant = "wire" => expr`), returned by a `const fn` named after the
/// `=>` in the header:
///
/// ```ignore
/// wire_enum! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
///     pub enum Code => info: Info {
///         NotFound = "not_found" => Info { status: 404 },
///     }
/// }
/// ```
///
/// The enum's derives are the caller's (they must include serde's `Serialize`/`Deserialize`,
/// which the renames are for).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident => $info_fn:ident : $info:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:tt => $data:expr ),+ $(,)?
        }
    ) => {
        $crate::wire_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* $variant = $wire ),+
            }
        }

        impl $name {
            /// What this variant carries besides its wire name.
            pub const fn $info_fn(self) -> $info {
                match self {
                    $( Self::$variant => $data, )+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every variant, in a stable order (documentation, spec generation, tests).
            pub const ALL: [Self; [$($wire),+].len()] = [$(Self::$variant),+];

            /// The name on the wire (and in the database).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )+
                }
            }

            /// The variant with this wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $wire => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct Info {
        loud: bool,
    }

    wire_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        enum Sample => info: Info {
            /// The first.
            One = "one:1" => Info { loud: false },
            Two = "two" => Info { loud: true },
        }
    }

    #[test]
    fn one_table_gives_every_list() {
        assert_eq!(Sample::ALL, [Sample::One, Sample::Two]);
        for sample in Sample::ALL {
            assert_eq!(serde_json::to_value(sample).unwrap(), sample.as_str());
            assert_eq!(Sample::parse(sample.as_str()), Some(sample));
            assert_eq!(sample.to_string(), sample.as_str());
        }
        assert_eq!(Sample::parse("three"), None);
        assert!(Sample::Two.info().loud && !Sample::One.info().loud);
    }
}
