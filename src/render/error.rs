//! Why a chart could not be drawn: one error for every drawer.

use std::fmt;

/// A chart that cannot be drawn at all. Empty data is not one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RenderError {
    /// A picture of 0 pixels, or one too large to hold in memory.
    InvalidSize { width: u32, height: u32, max: u32 },
    /// The drawing library failed (should not happen with the built-in font).
    Draw(String),
    /// The PNG encoder failed.
    Encode(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::InvalidSize { width, height, max } => write!(
                f,
                "cannot draw a {width}x{height} picture: each side must be 1 to {max} px"
            ),
            RenderError::Draw(e) => write!(f, "drawing failed: {e}"),
            RenderError::Encode(e) => write!(f, "PNG encoding failed: {e}"),
        }
    }
}

impl std::error::Error for RenderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_explain_themselves() {
        let e = RenderError::InvalidSize {
            width: 0,
            height: 10,
            max: 8192,
        };
        assert!(e.to_string().contains("0x10"));
    }
}
