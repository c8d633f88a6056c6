//! Where everything in the Sankey chart goes, as plain numbers: node
//! boxes, ribbon ends, drop-off stubs, legend entries and label boxes.
//! Kept apart from drawing so that tests can check the geometry itself,
//! above all that no two labels overlap.

use super::input::{SankeyData, SankeyLink};
use super::text;

/// plotters font size of node labels (12.5 px in SVG viewers).
pub(crate) const LABEL_SIZE: f64 = 15.5;
/// plotters font size of the counts under a label and of the legend.
pub(crate) const DETAIL_SIZE: f64 = 14.0;
/// Drawing more columns than this is meaningless on any screen.
const MAX_COLUMNS: usize = 200;
const MARGIN: f64 = 16.0;
const NODE_W: f64 = 14.0;
const NODE_GAP: f64 = 10.0;
/// Nodes stay visible (a hairline) even with no sessions.
const MIN_NODE_H: f64 = 1.0;
/// Room right of a node for its drop-off stub before the label starts.
pub(crate) const STUB_W: f64 = 10.0;
const LABEL_GAP: f64 = 2.0;
/// Padding inside a label's box (its white halo).
pub(crate) const HALO: f64 = 3.0;
const SWATCH: f64 = 12.0;
const LEGEND_ROW: f64 = 22.0;
const LEGEND_MAX_ROWS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NodeBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// A link's band: top and bottom y at the source (x0) and target (x1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ribbon {
    pub link: usize,
    pub from: usize,
    pub x0: f64,
    pub top0: f64,
    pub bottom0: f64,
    pub x1: f64,
    pub top1: f64,
    pub bottom1: f64,
}

/// A drop-off stub on a node's right edge, from y0 to y1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Drop {
    pub node: usize,
    pub x: f64,
    pub y0: f64,
    pub y1: f64,
}

/// A label's box (its halo) and its lines; text starts at `x + HALO`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Label {
    pub node: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub title: String,
    pub detail: Option<String>,
}

#[cfg(test)]
impl Label {
    pub(crate) fn overlaps(&self, o: &Label) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    Stage(usize),
    Other,
    Drop,
}

/// A legend entry: swatch at (x, y) (its top-left), text after it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendItem {
    pub swatch: Swatch,
    pub text: String,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Per data node; `None` for nodes that cannot be placed.
    pub nodes: Vec<Option<NodeBox>>,
    pub ribbons: Vec<Ribbon>,
    pub drops: Vec<Drop>,
    pub labels: Vec<Label>,
    pub legend: Vec<LegendItem>,
}

impl Layout {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.iter().all(Option::is_none)
    }
}

/// Lays `data` out on a `width`×`height` picture.
pub(crate) fn layout(data: &SankeyData, width: f64, height: f64) -> Layout {
    let mut out = Layout {
        nodes: vec![None; data.nodes.len()],
        ..Layout::default()
    };
    let columns = match data
        .nodes
        .iter()
        .map(|n| n.step)
        .filter(|&s| s < MAX_COLUMNS)
        .max()
    {
        Some(last) => last + 1,
        None => return out,
    };
    out.legend = legend(data, width);
    let legend_rows = out
        .legend
        .iter()
        .map(|i| i.y)
        .fold(Vec::<f64>::new(), |mut rows, y| {
            if !rows.contains(&y) {
                rows.push(y);
            }
            rows
        })
        .len();
    let top = MARGIN + legend_rows as f64 * LEGEND_ROW + if legend_rows > 0 { 10.0 } else { 0.0 };
    let bottom = (height - MARGIN).max(top + 1.0);

    // Columns: nodes of each step, "other" last, otherwise in data order.
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (i, n) in data.nodes.iter().enumerate() {
        if n.step < columns {
            cols[n.step].push(i);
        }
    }
    for col in &mut cols {
        col.sort_by_key(|&i| data.nodes[i].other);
    }

    // Horizontal: the last column keeps room on its right for labels.
    let right_room = if columns == 1 {
        (width - 2.0 * MARGIN - NODE_W).max(0.0)
    } else {
        (width * 0.18).clamp(90.0, 240.0).min(width * 0.4)
    };
    let span = (width - MARGIN - right_room).max(0.0);
    let node_w = if columns > 1 {
        NODE_W.min((span / columns as f64 * 0.4).max(2.0))
    } else {
        NODE_W
    };
    let pitch = if columns > 1 {
        ((span - node_w) / (columns - 1) as f64).max(0.0)
    } else {
        0.0
    };
    let col_x = |c: usize| MARGIN + c as f64 * pitch;

    // Vertical: one px-per-session scale for the whole chart, so heights
    // compare across columns; the fullest column sets it.
    let avail = bottom - top;
    let gaps: Vec<f64> = cols
        .iter()
        .map(|c| {
            if c.len() > 1 {
                NODE_GAP.min(avail * 0.3 / (c.len() - 1) as f64)
            } else {
                0.0
            }
        })
        .collect();
    let mut scale = f64::INFINITY;
    for (c, col) in cols.iter().enumerate() {
        let sum: f64 = col.iter().map(|&i| data.nodes[i].sessions as f64).sum();
        if sum > 0.0 {
            let room = avail
                - gaps[c] * col.len().saturating_sub(1) as f64
                - MIN_NODE_H * col.len() as f64;
            scale = scale.min(room.max(0.0) / sum);
        }
    }
    if !scale.is_finite() {
        scale = 0.0;
    }
    for (c, col) in cols.iter().enumerate() {
        let mut y = top;
        for &i in col {
            let h = (data.nodes[i].sessions as f64 * scale).max(MIN_NODE_H);
            out.nodes[i] = Some(NodeBox {
                x0: col_x(c),
                y0: y,
                x1: col_x(c) + node_w,
                y1: y + h,
            });
            y += h + gaps[c];
        }
    }

    ribbons_and_drops(data, scale, &mut out);

    for (c, col) in cols.iter().enumerate() {
        let area_x0 = col_x(c) + node_w + STUB_W;
        let area_x1 = if c + 1 < columns {
            col_x(c + 1) - LABEL_GAP
        } else {
            width - MARGIN / 2.0
        };
        place_labels(
            data,
            col,
            &out.nodes,
            (area_x0, area_x1),
            (top, height - 4.0),
            &mut out.labels,
        );
    }
    out
}

/// Links as ribbons stacked at both ends in the order of the nodes at the
/// other end (so they do not cross needlessly), and drop-off stubs under
/// each node's outgoing stack.
fn ribbons_and_drops(data: &SankeyData, scale: f64, out: &mut Layout) {
    let n = data.nodes.len();
    let valid = |l: &SankeyLink| {
        l.sessions > 0
            && l.from < n
            && l.to < n
            && data.nodes[l.from].step.checked_add(1) == Some(data.nodes[l.to].step)
            && out.nodes[l.from].is_some()
            && out.nodes[l.to].is_some()
    };
    let links: Vec<usize> = (0..data.links.len())
        .filter(|&i| valid(&data.links[i]))
        .collect();
    let mut outgoing: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &li in &links {
        outgoing[data.links[li].from].push(li);
        incoming[data.links[li].to].push(li);
    }
    let y0_of = |i: usize| out.nodes[i].map_or(0.0, |b| b.y0);
    // (top, bottom) of each link at its source and at its target.
    let mut at_source = vec![(0.0, 0.0); data.links.len()];
    let mut at_target = vec![(0.0, 0.0); data.links.len()];
    for node in 0..n {
        let Some(b) = out.nodes[node] else { continue };
        let h = b.y1 - b.y0;
        // More link sessions than node sessions (inconsistent input):
        // squeeze the ribbons into the node rather than overflow it.
        let fit = |sum: f64| {
            if sum * scale > h && sum > 0.0 {
                h / (sum * scale)
            } else {
                1.0
            }
        };
        let mut outs = std::mem::take(&mut outgoing[node]);
        outs.sort_by(|&a, &b| {
            y0_of(data.links[a].to)
                .total_cmp(&y0_of(data.links[b].to))
                .then(a.cmp(&b))
        });
        let sum_out: f64 = outs.iter().map(|&l| data.links[l].sessions as f64).sum();
        let f_out = fit(sum_out);
        let mut y = b.y0;
        for &l in &outs {
            let t = data.links[l].sessions as f64 * scale * f_out;
            at_source[l] = (y, y + t);
            y += t;
        }
        let drop = data.nodes[node].drop_off;
        if drop > 0 {
            let t = (drop as f64 * scale * f_out).max(1.5);
            let y0 = y.min(b.y1 - t).max(b.y0);
            out.drops.push(Drop {
                node,
                x: b.x1,
                y0,
                y1: (y0 + t).min(b.y1.max(y0 + 1.0)),
            });
        }
        let mut ins = std::mem::take(&mut incoming[node]);
        ins.sort_by(|&a, &b| {
            y0_of(data.links[a].from)
                .total_cmp(&y0_of(data.links[b].from))
                .then(a.cmp(&b))
        });
        let sum_in: f64 = ins.iter().map(|&l| data.links[l].sessions as f64).sum();
        let f_in = fit(sum_in);
        let mut y = b.y0;
        for &l in &ins {
            let t = data.links[l].sessions as f64 * scale * f_in;
            at_target[l] = (y, y + t);
            y += t;
        }
    }
    for &li in &links {
        let l = &data.links[li];
        let (Some(a), Some(b)) = (out.nodes[l.from], out.nodes[l.to]) else {
            continue;
        };
        out.ribbons.push(Ribbon {
            link: li,
            from: l.from,
            x0: a.x1,
            top0: at_source[li].0,
            bottom0: at_source[li].1,
            x1: b.x0,
            top1: at_target[li].0,
            bottom1: at_target[li].1,
        });
    }
}

/// Places the labels of one column, biggest nodes first: each label is
/// centred on its node if it can be, else nudged up or down next to a
/// label already placed as long as it still touches its node, else shown
/// on one line, else hidden. Labels never overlap: the columns' label
/// areas are disjoint, and within a column every box is checked.
fn place_labels(
    data: &SankeyData,
    col: &[usize],
    nodes: &[Option<NodeBox>],
    (x0, x1): (f64, f64),
    (ymin, ymax): (f64, f64),
    labels: &mut Vec<Label>,
) {
    let max_text = x1 - x0 - 2.0 * HALO;
    if max_text < text::width("ab…", LABEL_SIZE) {
        return;
    }
    let one_line = text::line_height(LABEL_SIZE) + 2.0 * HALO - 2.0;
    let two_lines = one_line + text::line_height(DETAIL_SIZE);
    let mut order: Vec<usize> = col
        .iter()
        .copied()
        .filter(|&i| nodes[i].is_some())
        .collect();
    order.sort_by(|&a, &b| {
        data.nodes[b]
            .sessions
            .cmp(&data.nodes[a].sessions)
            .then(a.cmp(&b))
    });
    let capacity = ((ymax - ymin) / one_line).floor() as usize + 1;
    let mut placed: Vec<Label> = Vec::new();
    for i in order {
        if placed.len() >= capacity {
            break;
        }
        let (Some(b), n) = (nodes[i], &data.nodes[i]) else {
            continue;
        };
        let Some(title) = text::fit(&n.label, LABEL_SIZE, max_text) else {
            continue;
        };
        // Numbers are not shortened: the drop-off share goes first, then
        // the count.
        let count = text::thousands(n.sessions.into());
        let mut details = Vec::with_capacity(2);
        if n.drop_off > 0 && n.sessions > 0 {
            let share = text::percent(n.drop_off as f64 / n.sessions as f64);
            details.push(format!("{count} · {share} drop"));
        }
        details.push(count);
        let detail = details
            .into_iter()
            .find(|d| text::width(d, DETAIL_SIZE) <= max_text);
        let title_w = text::width(&title, LABEL_SIZE);
        let centre = (b.y0 + b.y1) / 2.0;
        let reach = (b.y1 - b.y0) / 2.0;
        let mut variants = Vec::with_capacity(2);
        if let Some(d) = detail {
            let w = title_w.max(text::width(&d, DETAIL_SIZE));
            variants.push((two_lines, w, Some(d)));
        }
        variants.push((one_line, title_w, None));
        for (h, w, detail) in variants {
            let Some(y) = free_spot(&placed, centre, reach + h / 2.0 - 2.0, h, (ymin, ymax)) else {
                continue;
            };
            placed.push(Label {
                node: i,
                x: x0,
                y,
                w: w + 2.0 * HALO,
                h,
                title: title.clone(),
                detail,
            });
            break;
        }
    }
    labels.extend(placed);
}

/// The top y of a box of height `h`, closest to centred on `centre`, with
/// its centre at most `reach` away from it, inside `bounds` and clear of
/// `placed` boxes (all of one column, so only y matters).
fn free_spot(
    placed: &[Label],
    centre: f64,
    reach: f64,
    h: f64,
    (ymin, ymax): (f64, f64),
) -> Option<f64> {
    let want = centre - h / 2.0;
    let mut candidates = vec![want.clamp(ymin, (ymax - h).max(ymin))];
    for p in placed {
        candidates.push(p.y + p.h + LABEL_GAP);
        candidates.push(p.y - LABEL_GAP - h);
    }
    candidates
        .into_iter()
        .filter(|&y| {
            y >= ymin
                && y + h <= ymax
                && (y + h / 2.0 - centre).abs() <= reach.max(0.0)
                && placed
                    .iter()
                    .all(|p| y + h + LABEL_GAP <= p.y + 1e-9 || p.y + p.h + LABEL_GAP <= y + 1e-9)
        })
        .min_by(|a, b| (a - want).abs().total_cmp(&(b - want).abs()))
}

/// Legend entries in rows across the top: the stages, then "other" and
/// "drop-off" when the chart has them.
fn legend(data: &SankeyData, width: f64) -> Vec<LegendItem> {
    let mut entries: Vec<(Swatch, String)> = data
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (Swatch::Stage(i), s.clone()))
        .collect();
    if data.nodes.iter().any(|n| n.other) {
        entries.push((Swatch::Other, "Other pages".to_string()));
    }
    if data.nodes.iter().any(|n| n.drop_off > 0) {
        entries.push((Swatch::Drop, "Drop-off".to_string()));
    }
    let mut items = Vec::new();
    let (mut x, mut row) = (MARGIN, 0);
    let right = width - MARGIN;
    for (swatch, name) in entries {
        let Some(name) = text::fit(&name, DETAIL_SIZE, 160.0) else {
            continue;
        };
        let w = SWATCH + 6.0 + text::width(&name, DETAIL_SIZE);
        if x + w > right && x > MARGIN {
            row += 1;
            x = MARGIN;
        }
        if row >= LEGEND_MAX_ROWS || x + w > right {
            break;
        }
        items.push(LegendItem {
            swatch,
            text: name,
            x,
            y: MARGIN + row as f64 * LEGEND_ROW,
        });
        x += w + 18.0;
    }
    items
}

/// Swatch size, for drawing the legend.
pub(crate) const SWATCH_SIZE: f64 = SWATCH;
