//! What a run is: why it exists ([`RunType`]) and its id ([`run_id`]), Airflow's
//! `<type>__<logical date>`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Declares a string-backed enum: Airflow's snake_case name in the database and in JSON.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database, e.g. `up_for_retry`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName { what: $what, name: s.to_owned() }),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum! {
    /// Why a DAG run exists (Airflow's `DagRunType`).
    RunType, "run type" {
        /// Started by hand (`dags test`, `dags trigger`).
        Manual => "manual",
        /// Started by the scheduler for a schedule interval.
        Scheduled => "scheduled",
        /// Started by a backfill over past intervals.
        Backfill => "backfill",
    }
}

/// A state, run type or other name read from the database that this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`")]
pub struct UnknownName {
    pub(crate) what: &'static str,
    pub(crate) name: String,
}

/// Airflow's run id: `<type>__<logical date RFC 3339>`.
pub fn run_id(run_type: &str, logical: DateTime<Utc>) -> String {
    format!(
        "{run_type}__{}",
        logical.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    )
}
