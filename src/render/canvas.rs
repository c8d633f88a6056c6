//! One drawing code path for SVG and PNG: a chart draws itself on a
//! [`Painter`] over any plotters backend, and [`render`] runs it on the
//! SVG backend or on an RGB buffer that is then PNG-encoded. The painter
//! wraps the few plotters primitives the charts use, in f64 coordinates,
//! and turns plotters' errors into [`RenderError`].

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::error::RenderError;
use super::input::Format;
use super::raster::Pixels;
use super::{encode, palette, text};

/// Largest side of a chart picture (a 8192×8192 RGB buffer is 200 MB).
/// The picture shown instead of a chart when the selection has no data.
pub(crate) const NO_DATA: &str = "No data for this selection";

pub(crate) const MAX_SIDE: u32 = 8192;

/// Something that can draw itself on a painter of a given size.
pub(crate) trait Chart {
    /// Pixels painted straight into a bitmap before [`Chart::draw`] runs,
    /// for shapes too many or too large for plotters' polygon filler
    /// (which is neither fast nor anti-aliased). Charts that paint here
    /// skip those shapes in `draw` when [`Painter::is_bitmap`].
    fn underlay(&self, _px: &mut Pixels<'_>) {}

    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError>;
}

/// Checks a requested picture size.
pub(crate) fn check_size(width: u32, height: u32) -> Result<(), RenderError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(RenderError::InvalidSize {
            width,
            height,
            max: MAX_SIDE,
        });
    }
    Ok(())
}

/// Draws `chart` on a white `width`×`height` picture in `format`.
pub(crate) fn render<C: Chart>(
    chart: &C,
    width: u32,
    height: u32,
    format: Format,
) -> Result<Vec<u8>, RenderError> {
    check_size(width, height)?;
    text::ensure_registered();
    match format {
        Format::Svg => {
            let mut svg = String::with_capacity(64 * 1024);
            {
                let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                area.fill(&WHITE).map_err(draw_err)?;
                chart.draw(&Painter::new(&area, false))?;
                area.present().map_err(draw_err)?;
            }
            Ok(svg.into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![255u8; rgb_len(width, height)];
            chart.underlay(&mut Pixels {
                data: &mut rgb,
                width: width as usize,
                height: height as usize,
                channels: 3,
            });
            draw_rgb(chart, &mut rgb, width, height)?;
            encode::png(&rgb, width, height, 3)
        }
    }
}

/// Draws `chart` onto an existing RGB buffer (used by rasters that add
/// text and legends on top of their own pixels).
pub(crate) fn draw_rgb<C: Chart>(
    chart: &C,
    rgb: &mut [u8],
    width: u32,
    height: u32,
) -> Result<(), RenderError> {
    text::ensure_registered();
    let area = BitMapBackend::with_buffer(rgb, (width, height)).into_drawing_area();
    chart.draw(&Painter::new(&area, true))?;
    area.present().map_err(draw_err)
}

pub(crate) fn rgb_len(width: u32, height: u32) -> usize {
    width as usize * height as usize * 3
}

pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(
    e: DrawingAreaErrorKind<E>,
) -> RenderError {
    RenderError::Draw(e.to_string())
}

/// Horizontal alignment of text relative to its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// The drawing surface handed to charts.
pub(crate) struct Painter<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    bitmap: bool,
    pub width: f64,
    pub height: f64,
}

fn pt(x: f64, y: f64) -> (i32, i32) {
    // Non-finite or absurd coordinates must not panic or overflow.
    let c = |v: f64| {
        if v.is_finite() {
            v.round().clamp(-1e6, 1e6) as i32
        } else {
            0
        }
    };
    (c(x), c(y))
}

impl<'a, DB: DrawingBackend> Painter<'a, DB> {
    fn new(area: &'a DrawingArea<DB, Shift>, bitmap: bool) -> Self {
        let (w, h) = area.dim_in_pixel();
        Painter {
            area,
            bitmap,
            width: w as f64,
            height: h as f64,
        }
    }

    /// Whether this draws on a bitmap (after [`Chart::underlay`]).
    pub(super) fn is_bitmap(&self) -> bool {
        self.bitmap
    }

    /// A filled rectangle.
    pub(super) fn rect(
        &self,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        color: RGBAColor,
    ) -> Result<(), RenderError> {
        self.area
            .draw(&Rectangle::new([pt(x0, y0), pt(x1, y1)], color.filled()))
            .map_err(draw_err)
    }

    /// A rectangle outline.
    pub(super) fn frame(
        &self,
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        color: RGBAColor,
    ) -> Result<(), RenderError> {
        self.area
            .draw(&Rectangle::new(
                [pt(x0, y0), pt(x1, y1)],
                color.stroke_width(1),
            ))
            .map_err(draw_err)
    }

    /// A filled polygon.
    pub(super) fn polygon(
        &self,
        points: &[(f64, f64)],
        color: RGBAColor,
    ) -> Result<(), RenderError> {
        let pts: Vec<_> = points.iter().map(|&(x, y)| pt(x, y)).collect();
        self.area
            .draw(&Polygon::new(pts, color.filled()))
            .map_err(draw_err)
    }

    /// A polyline.
    pub(super) fn line(
        &self,
        points: &[(f64, f64)],
        color: RGBAColor,
        width: u32,
    ) -> Result<(), RenderError> {
        let pts: Vec<_> = points.iter().map(|&(x, y)| pt(x, y)).collect();
        self.area
            .draw(&PathElement::new(pts, color.stroke_width(width)))
            .map_err(draw_err)
    }

    /// A dashed polyline.
    pub(super) fn dashed(
        &self,
        points: &[(f64, f64)],
        color: RGBAColor,
        width: u32,
        dash: u32,
        gap: u32,
    ) -> Result<(), RenderError> {
        let pts: Vec<_> = points.iter().map(|&(x, y)| pt(x, y)).collect();
        self.area
            .draw(&plotters::element::DashedPathElement::new(
                pts,
                dash,
                gap,
                color.stroke_width(width),
            ))
            .map_err(draw_err)
    }

    /// A circle, filled or outlined.
    pub(super) fn circle(
        &self,
        x: f64,
        y: f64,
        r: f64,
        color: RGBAColor,
        filled: bool,
    ) -> Result<(), RenderError> {
        let style = if filled {
            color.filled()
        } else {
            color.stroke_width(2)
        };
        let r = if r.is_finite() {
            r.clamp(0.0, 1e4)
        } else {
            0.0
        };
        self.area
            .draw(&Circle::new(pt(x, y), r.round() as u32, style))
            .map_err(draw_err)
    }

    /// One line of text, vertically centred on `y`. `size` is plotters'
    /// font size: SVG viewers show it at an em of `size / 1.24` px, and
    /// bitmaps are drawn at the same em.
    pub(super) fn text(
        &self,
        s: &str,
        x: f64,
        y: f64,
        size: f64,
        color: RGBColor,
        align: Align,
    ) -> Result<(), RenderError> {
        if s.is_empty() {
            return Ok(());
        }
        let h = match align {
            Align::Left => HPos::Left,
            Align::Center => HPos::Center,
            Align::Right => HPos::Right,
        };
        if self.bitmap {
            return self.bitmap_text(s, x, y, size, color, align);
        }
        let style = TextStyle::from((text::FAMILY, size).into_font())
            .color(&color)
            .pos(Pos::new(h, VPos::Center));
        self.area.draw_text(s, &style, pt(x, y)).map_err(draw_err)
    }

    /// Text on a bitmap, glyph by glyph (see [`text::rasterize`]).
    fn bitmap_text(
        &self,
        s: &str,
        x: f64,
        y: f64,
        size: f64,
        color: RGBColor,
        align: Align,
    ) -> Result<(), RenderError> {
        let w = text::width(s, size);
        let left = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        let mut result = Ok(());
        text::rasterize(
            s,
            size,
            left,
            y + text::centre_to_baseline(size),
            |px, py, cov| {
                if cov > 0.0 && result.is_ok() {
                    result = self
                        .area
                        .draw_pixel((px, py), &color.mix(cov.min(1.0) as f64));
                }
            },
        );
        result.map_err(draw_err)
    }

    /// The "No data for this selection" note, centred at (`x`, `y`).
    pub(super) fn no_data(&self, x: f64, y: f64) -> Result<(), RenderError> {
        let size = 18.0;
        let w = text::width(NO_DATA, size) + 36.0;
        let h = 44.0;
        self.rect(
            x - w / 2.0,
            y - h / 2.0,
            x + w / 2.0,
            y + h / 2.0,
            palette::CANVAS.to_rgba(),
        )?;
        self.frame(
            x - w / 2.0,
            y - h / 2.0,
            x + w / 2.0,
            y + h / 2.0,
            palette::RULE.to_rgba(),
        )?;
        self.text(NO_DATA, x, y, size, palette::MUTED, Align::Center)
    }
}

/// A picture that only says there is no data.
pub(crate) struct NoData;

impl Chart for NoData {
    fn draw<DB: DrawingBackend>(&self, p: &Painter<'_, DB>) -> Result<(), RenderError> {
        p.no_data(p.width / 2.0, p.height / 2.0)
    }
}
