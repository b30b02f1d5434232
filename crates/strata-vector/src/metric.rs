//! Similarity metrics and how their scores are defined.
//!
//! Every score is "higher is better":
//!
//! | metric        | score                                        | range        |
//! |---------------|----------------------------------------------|--------------|
//! | `cosine`      | cosine similarity `a·b / (|a| |b|)`           | `[-1, 1]`    |
//! | `euclidean`   | **negative** Euclidean distance `-|a - b|`   | `(-inf, 0]`  |
//! | `dot_product` | the raw dot product `a·b`                    | any          |

use crate::error::{Result, VectorError};
use std::fmt;
use std::str::FromStr;

/// How two vectors are compared. See the module docs for the score of each metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// Cosine similarity (the default). Vectors are normalised when indexed.
    #[default]
    Cosine,
    /// Euclidean (L2) distance, reported as a negative score so that higher is better.
    Euclidean,
    /// Inner product, unnormalised.
    DotProduct,
}

impl Metric {
    /// The canonical name: `"cosine"`, `"euclidean"` or `"dot_product"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Euclidean => "euclidean",
            Metric::DotProduct => "dot_product",
        }
    }

    /// Parses a metric name (case-insensitive). `None` gives the default, cosine.
    /// Unknown names fail with [`VectorError::UnknownMetric`] listing the accepted ones.
    pub fn parse(name: Option<&str>) -> Result<Metric> {
        match name {
            None => Ok(Metric::default()),
            Some(s) => s.parse(),
        }
    }

    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Metric::Cosine => 0,
            Metric::Euclidean => 1,
            Metric::DotProduct => 2,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Metric> {
        match b {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::Euclidean),
            2 => Some(Metric::DotProduct),
            _ => None,
        }
    }
}

impl FromStr for Metric {
    type Err = VectorError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cosine" => Ok(Metric::Cosine),
            "euclidean" | "l2" => Ok(Metric::Euclidean),
            "dot_product" | "dot" => Ok(Metric::DotProduct),
            _ => Err(VectorError::UnknownMetric(s.to_owned())),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!(Metric::parse(None).ok(), Some(Metric::Cosine));
        assert_eq!("Euclidean".parse::<Metric>().ok(), Some(Metric::Euclidean));
        assert_eq!(
            "dot_product".parse::<Metric>().ok(),
            Some(Metric::DotProduct)
        );
        let err = "manhattan".parse::<Metric>().err().map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(
            msg.contains("manhattan") && msg.contains("dot_product"),
            "{msg}"
        );
        for m in [Metric::Cosine, Metric::Euclidean, Metric::DotProduct] {
            assert_eq!(Metric::from_byte(m.to_byte()), Some(m));
            assert_eq!(m.as_str().parse::<Metric>().ok(), Some(m));
        }
    }
}
