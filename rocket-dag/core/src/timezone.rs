//! DAG time zones: IANA names, with a suggestion for a near miss.

use chrono_tz::Tz;

/// A time zone name that is not an IANA one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TimezoneError {
    /// The name as given.
    pub input: String,
    /// The IANA name probably meant.
    pub suggestion: Option<&'static str>,
}

impl std::fmt::Display for TimezoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown time zone `{}`; expected an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`",
            self.input
        )?;
        if let Some(n) = self.suggestion {
            write!(f, "\nhelp: did you mean `{n}`?")?;
        }
        Ok(())
    }
}

/// `"Europe/Berlin"` → the zone.
pub fn parse(name: &str) -> Result<Tz, TimezoneError> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    let suggestion = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .copied()
        .or_else(|| crate::names::closest(name, &names));
    Err(TimezoneError {
        input: name.to_owned(),
        suggestion,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_near_misses() {
        assert_eq!(
            super::parse("Europe/Moscow").unwrap().name(),
            "Europe/Moscow"
        );
        let e = super::parse("europe/berlin").unwrap_err();
        assert_eq!(e.suggestion, Some("Europe/Berlin"));
        assert!(
            super::parse("Mars/Olympus")
                .unwrap_err()
                .suggestion
                .is_none()
        );
    }
}
