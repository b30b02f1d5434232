//! `search()` arguments: the time range (ISO 8601 strings) and the result dicts.

use crate::errors::{self, InvalidInputError};
use crate::results::pydict;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyString};
use strata::{SearchHit, Timestamp};
use strata_search::parse_iso8601;

/// Microseconds in a day.
const DAY_MICROS: u64 = 86_400_000_000;

fn invalid(py: Python<'_>, msg: String) -> PyErr {
    errors::raise::<InvalidInputError>(py, "invalid_input", msg)
}

/// Whether `s` is a date without a time (`YYYY-MM-DD`).
fn is_date_only(s: &str) -> bool {
    let s = s.trim();
    s.len() == 10 && !s.contains(['T', 't', ' '])
}

/// One bound: an ISO 8601 string, or an int (µs since the epoch). A date-only `end`
/// covers the whole day.
fn bound(py: Python<'_>, name: &str, obj: &Bound<'_, PyAny>, is_end: bool) -> PyResult<Timestamp> {
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_cow()?;
        let ts = parse_iso8601(&text).map_err(|e| errors::db_err(py, e))?;
        return Ok(if is_end && is_date_only(&text) {
            ts.saturating_add(DAY_MICROS - 1)
        } else {
            ts
        });
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(ts) = obj.extract::<u64>() {
            return Ok(ts);
        }
    }
    Err(invalid(
        py,
        format!(
            "time_range[{name:?}] must be an ISO 8601 string such as \"2026-02-07T00:00:00Z\" \
             (or microseconds since the epoch), got {}",
            obj.repr().map(|r| r.to_string()).unwrap_or_default()
        ),
    ))
}

/// Parses `{"start": ..., "end": ...}` (either may be left out) into inclusive µs bounds.
pub(crate) fn time_range(
    py: Python<'_>,
    range: &Bound<'_, PyDict>,
) -> PyResult<(Timestamp, Timestamp)> {
    let mut start = 0;
    let mut end = Timestamp::MAX;
    for (k, v) in range.iter() {
        let key = k.extract::<String>().unwrap_or_default();
        match key.as_str() {
            "start" if !v.is_none() => start = bound(py, "start", &v, false)?,
            "end" if !v.is_none() => end = bound(py, "end", &v, true)?,
            "start" | "end" => {}
            _ => {
                return Err(invalid(
                    py,
                    format!(
                        "time_range has an unknown key {}: expected \"start\" and/or \"end\"",
                        k.repr().map(|r| r.to_string()).unwrap_or_default()
                    ),
                ))
            }
        }
    }
    if start > end {
        return Err(invalid(
            py,
            "time_range \"start\" is after \"end\"".to_owned(),
        ));
    }
    Ok((start, end))
}

/// `[{"entity", "primitive", "score", "rank", "snippet"}]`.
pub(crate) fn hits(py: Python<'_>, hits: Vec<SearchHit>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for h in hits {
        list.append(pydict!(py, {
            "entity": h.entity,
            "primitive": h.primitive,
            "score": h.score,
            "rank": h.rank,
            "snippet": h.snippet,
        }))?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_only_detection() {
        assert!(is_date_only("2026-02-09"));
        assert!(is_date_only(" 2026-02-09 "));
        assert!(!is_date_only("2026-02-09T23:59:59Z"));
        assert!(!is_date_only("2026-02-09 10:00"));
    }
}
