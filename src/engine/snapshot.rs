//! The read engine's columns on disk, one file per site, so that a process
//! that starts (a `trailmap paths` over ten million sessions, a restarted
//! server) reads one file instead of every session row, then takes only
//! the changes since from the store.
//!
//! A snapshot is a cache, never the truth: it names the site (id and
//! creation time) and the change it is current as of, and it is used only
//! when the site is the same and the store has reached that change. A file
//! that is torn, truncated, of another format version or fails its CRC is
//! ignored with a warning, and the site loads from the store's rows (and
//! is written again). Files are written to a temporary name and renamed,
//! so a reader never sees half of one. Their layout is little-endian
//! arrays, column by column, a segment at a time: what [`super::site`]
//! holds in memory, with nothing a visitor sent that the database does not
//! already hold (visitor hashes, page ids, times, coded dimensions).

use super::activity::Activity;
use super::column::{Column, Mapped};
use super::site::{Dict, Dims, Segment, SiteJourneys, Visitors};
use crate::event::PageSignals;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 16] = b"trailmap-engine\n";
/// The dictionaries a file holds ([`SiteJourneys::dicts`]).
const DICTS: usize = 7;
/// Bumped whenever the layout changes: older files are then ignored.
const VERSION: u32 = 3;

/// The folder beside the database: `trailmap.db.engine/`.
pub(crate) fn dir(db: &Path) -> PathBuf {
    let mut dir = db.as_os_str().to_owned();
    dir.push(".engine");
    dir.into()
}

fn file(dir: &Path, site_id: i64) -> PathBuf {
    dir.join(format!("site-{site_id}.columns"))
}

/// Writes `site` as of change `watermark`.
pub(crate) fn write(
    dir: &Path,
    site_id: i64,
    created: i64,
    watermark: i64,
    site: &SiteJourneys,
) -> io::Result<()> {
    write_file(dir, &file(dir, site_id), MAGIC, VERSION, |w| {
        w.i64(site_id)?;
        w.i64(created)?;
        w.i64(watermark)?;
        for dict in site.dicts() {
            w.u64(dict.names.len() as u64)?;
            for name in &dict.names {
                w.bytes(name.as_bytes())?;
            }
        }
        let mut recent: Vec<(i64, u32)> =
            site.visitors.recent.iter().map(|(v, c)| (*v, *c)).collect();
        recent.sort_unstable();
        for (sorted, codes) in [
            (&site.visitors.sorted[..], &site.visitors.codes[..]),
            (
                &recent.iter().map(|r| r.0).collect::<Vec<_>>()[..],
                &recent.iter().map(|r| r.1).collect::<Vec<_>>()[..],
            ),
        ] {
            w.u64(sorted.len() as u64)?;
            w.numbers(sorted, |v| v.to_le_bytes())?;
            w.numbers(codes, |v| v.to_le_bytes())?;
        }
        w.u64(site.segments.len() as u64)?;
        for seg in &site.segments {
            segment(w, seg)?;
        }
        Ok(())
    })
}

/// Writes the file at `path` in `dir`: `magic`, `version`, what `body`
/// writes, and the CRC of it all, under another name renamed over the old
/// file once whole and synced (a reader never sees half a file, and one
/// that mapped the old file keeps it).
fn write_file(
    dir: &Path,
    path: &Path,
    magic: &[u8; 16],
    version: u32,
    body: impl FnOnce(&mut Out) -> io::Result<()>,
) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = (|| {
        let mut w = Out {
            inner: BufWriter::with_capacity(1 << 20, File::create(&partial)?),
            crc: flate2::Crc::new(),
            pos: 0,
        };
        w.raw(magic)?;
        w.u32(version)?;
        body(&mut w)?;
        let crc = w.crc.sum();
        w.inner.write_all(&crc.to_le_bytes())?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    match written {
        Ok(()) => std::fs::rename(&partial, path),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Maps the file at `path` and reads past its `magic` and `version`.
/// `Ok(None)`: there is none; an error for another format or version.
fn open_file(path: &Path, magic: &[u8; 16], version: u32) -> io::Result<Option<In>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: the map is only read, and the file never changes under it:
    // files are written under another name and renamed over the old one
    // (a replaced file lives on for whoever maps it), and nothing in
    // trailmap truncates or rewrites one in place.
    let map = Arc::new(unsafe { memmap2::Mmap::map(&f)? });
    let mut r = In {
        map,
        pos: 0,
        crc: flate2::Crc::new(),
    };
    let mut found = [0u8; 16];
    r.raw(&mut found)?;
    if &found != magic || r.u32()? != version {
        return Err(invalid(path, "another format or version"));
    }
    Ok(Some(r))
}

/// Checks the CRC after everything a file holds.
fn check_sum(r: &mut In, path: &Path) -> io::Result<()> {
    let sum = r.crc.sum();
    if r.trailer()? != sum {
        return Err(invalid(path, "its checksum does not match"));
    }
    Ok(())
}

/// What the page activity files begin with ([`write_activity`]).
const ACTIVITY_MAGIC: &[u8; 16] = b"trailmap-pages\n\0";
/// Bumped whenever the activity files' layout changes.
const ACTIVITY_VERSION: u32 = 1;

/// The file of the activity on the raw pages `raw_pages` (sorted) of
/// site `site_id`: named by a digest of the page ids.
fn activity_file(dir: &Path, site_id: i64, raw_pages: &[u32]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for p in raw_pages {
        digest.update(p.to_le_bytes());
    }
    let name: String = digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("site-{site_id}-page-{name}.activity"))
}

/// Writes the activity on `raw_pages` of site `site_id` (created at
/// `created`) as of change `watermark`, so that a restarted server or a
/// CLI command maps the page from it and reads only the changes since.
pub(crate) fn write_activity(
    dir: &Path,
    (site_id, created): (i64, i64),
    raw_pages: &[u32],
    watermark: i64,
    activity: &Activity,
) -> io::Result<()> {
    let path = activity_file(dir, site_id, raw_pages);
    write_file(dir, &path, ACTIVITY_MAGIC, ACTIVITY_VERSION, |w| {
        w.i64(site_id)?;
        w.i64(created)?;
        w.u64(raw_pages.len() as u64)?;
        w.numbers(raw_pages, |v| v.to_le_bytes())?;
        w.i64(watermark)?;
        activity.write_to(w)
    })?;
    forget_old_activity(dir)
}

/// Page activity files kept, the most recently written: the pages mapped
/// lately, whatever their sites.
pub(crate) const ACTIVITY_FILES_KEPT: usize = 64;

/// Deletes the activity files past the [`ACTIVITY_FILES_KEPT`] most
/// recently written.
fn forget_old_activity(dir: &Path) -> io::Result<()> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "activity"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    files.sort_unstable_by_key(|f| std::cmp::Reverse(f.0));
    for (_, old) in files.into_iter().skip(ACTIVITY_FILES_KEPT) {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

/// The activity file of `raw_pages` of site `site_id` (created at
/// `created`) and the change it is current as of, if there is one the
/// store (at change `upto`) can continue from.
pub(crate) fn read_activity(
    dir: &Path,
    (site_id, created): (i64, i64),
    raw_pages: &[u32],
    upto: i64,
) -> io::Result<Option<(i64, Activity)>> {
    let path = activity_file(dir, site_id, raw_pages);
    let Some(mut r) = open_file(&path, ACTIVITY_MAGIC, ACTIVITY_VERSION)? else {
        return Ok(None);
    };
    if r.i64()? != site_id || r.i64()? != created {
        return Ok(None);
    }
    let n = r.len()?;
    if r.numbers(n, u32::from_le_bytes)? != raw_pages {
        return Ok(None);
    }
    let watermark = r.i64()?;
    if watermark > upto || watermark <= 0 {
        return Ok(None);
    }
    let activity = Activity::read_from(&mut r).map_err(|e| invalid(&path, &e.to_string()))?;
    check_sum(&mut r, &path)?;
    Ok(Some((watermark, activity)))
}

fn segment(w: &mut Out, seg: &Segment) -> io::Result<()> {
    w.u64(seg.ids.len() as u64)?;
    w.u64(seg.pages.len() as u64)?;
    w.u64(seg.signals.len() as u64)?;
    w.numbers(&seg.ids, |v| v.to_le_bytes())?;
    w.numbers(&seg.starts, |v| v.to_le_bytes())?;
    w.aligned(&seg.dims, |d| d.referrer.to_le_bytes())?;
    w.aligned(&seg.dims, |d| d.entry.to_le_bytes())?;
    w.aligned(&seg.dims, |d| d.channel.to_le_bytes())?;
    w.aligned(&seg.dims, |d| d.device.to_le_bytes())?;
    w.aligned(&seg.dims, |d| d.country.to_le_bytes())?;
    w.array(&seg.dims, |d| [u8::from(d.bot)])?;
    w.aligned(&seg.dims, |d| d.campaign.to_le_bytes())?;
    w.numbers(&seg.visitors, |v| v.to_le_bytes())?;
    w.numbers(&seg.durations, |v| v.to_le_bytes())?;
    w.numbers(&seg.offsets, |v| v.to_le_bytes())?;
    w.numbers(&seg.pages, |v| v.to_le_bytes())?;
    w.numbers(&seg.times, |v| v.to_le_bytes())?;
    w.numbers(&seg.signal_at, |v| v.to_le_bytes())?;
    w.array(&seg.signals, |s| [s.rage_clicks, s.dead_clicks, s.flags()])?;
    w.u64(seg.marked.len() as u64)?;
    w.u64(seg.mark_names.len() as u64)?;
    w.numbers(&seg.marked, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_offsets, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_after, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_times, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_names, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_props, |v| v.to_le_bytes())?;
    w.numbers(&seg.mark_revenue, |v| v.to_le_bytes())
}

/// The snapshot of site `site_id` (created at `created`) and the change it
/// is current as of, if there is one the store (at change `upto`) can
/// continue from. `Ok(None)`: no usable file (none, another site's, or
/// newer than the store).
pub(crate) fn read(
    dir: &Path,
    site_id: i64,
    created: i64,
    upto: i64,
) -> io::Result<Option<(i64, SiteJourneys)>> {
    let path = file(dir, site_id);
    let Some(mut r) = open_file(&path, MAGIC, VERSION)? else {
        return Ok(None);
    };
    if r.i64()? != site_id || r.i64()? != created {
        return Ok(None);
    }
    let watermark = r.i64()?;
    if watermark > upto || watermark <= 0 {
        return Ok(None);
    }
    let mut dicts = Vec::with_capacity(DICTS);
    for _ in 0..DICTS {
        let n = r.len()?;
        let mut names = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let bytes = r.bytes()?;
            let name =
                String::from_utf8(bytes).map_err(|_| invalid(&path, "a name that is not UTF-8"))?;
            names.push(name.into_boxed_str());
        }
        dicts.push(Dict::of(names));
    }
    let mut visitors = Visitors::default();
    let n = r.len()?;
    visitors.sorted = r.numbers(n, i64::from_le_bytes)?;
    visitors.codes = r.numbers(n, u32::from_le_bytes)?;
    let n = r.len()?;
    let recent_visitors: Vec<i64> = r.numbers(n, i64::from_le_bytes)?;
    let recent_codes: Vec<u32> = r.numbers(n, u32::from_le_bytes)?;
    visitors.recent = recent_visitors.into_iter().zip(recent_codes).collect();
    if !visitors.recent.is_empty() {
        visitors.fold();
    }
    let count = r.len()?;
    let mut segments = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        segments.push(Arc::new(read_segment(&mut r, &path)?));
    }
    check_sum(&mut r, &path)?;
    let mut dicts = dicts.into_iter();
    let mut next = || dicts.next().expect("every dictionary");
    // In the order of `SiteJourneys::dicts`.
    let site = SiteJourneys {
        segments,
        visitors,
        channel: next(),
        device: next(),
        country: next(),
        referrer: next(),
        campaign: next(),
        event: next(),
        props: next(),
    };
    Ok(Some((watermark, site)))
}

fn read_segment(r: &mut In, path: &Path) -> io::Result<Segment> {
    let (n, views, signals) = (r.len()?, r.len()?, r.len()?);
    let ids = r.column(n)?;
    let starts = r.column(n)?;
    let referrer: Vec<u32> = r.numbers(n, u32::from_le_bytes)?;
    let entry: Vec<u32> = r.numbers(n, u32::from_le_bytes)?;
    let channel: Vec<u16> = r.numbers(n, u16::from_le_bytes)?;
    let device: Vec<u16> = r.numbers(n, u16::from_le_bytes)?;
    let country: Vec<u16> = r.numbers(n, u16::from_le_bytes)?;
    let bot: Vec<u8> = r.array(n, |b: [u8; 1]| b[0])?;
    let campaign: Vec<u32> = r.numbers(n, u32::from_le_bytes)?;
    let dims = (0..n)
        .map(|k| Dims {
            referrer: referrer[k],
            entry: entry[k],
            channel: channel[k],
            device: device[k],
            country: country[k],
            bot: bot[k] != 0,
            campaign: campaign[k],
        })
        .collect();
    let seg = Segment {
        ids,
        starts,
        dims,
        visitors: r.column(n)?,
        durations: r.column(n)?,
        offsets: r.column(n + 1)?,
        pages: r.column(views)?,
        times: r.column(views)?,
        signal_at: r.column(n)?,
        signals: r.array(signals, PageSignals::from_bytes)?,
        ..Segment::default()
    };
    let (marked, marks) = (r.len()?, r.len()?);
    let mut seg = seg;
    seg.marked = r.column(marked)?;
    seg.mark_offsets = r.column(if marked == 0 { 0 } else { marked + 1 })?;
    seg.mark_after = r.column(marks)?;
    seg.mark_times = r.column(marks)?;
    seg.mark_names = r.column(marks)?;
    seg.mark_props = r.column(marks)?;
    seg.mark_revenue = r.column(marks)?;
    // What the reports index with must hold: the offsets run from 0 to
    // the views, in order, and every signal run lies in the signals.
    let offsets_hold = seg.offsets.first() == Some(&0)
        && seg.offsets.last().map(|o| *o as usize) == Some(views)
        && seg.offsets.windows(2).all(|w| w[0] <= w[1]);
    let signals_hold = (0..n).all(|k| match seg.signal_at[k] {
        u32::MAX => true,
        at => at as usize + (seg.offsets[k + 1] - seg.offsets[k]) as usize <= signals,
    });
    // And the events: marked sessions ascending and in the segment, their
    // offsets from 0 to the events, in order.
    let marks_hold = seg.marked.windows(2).all(|w| w[0] < w[1])
        && seg.marked.last().is_none_or(|k| (*k as usize) < n)
        && (marked == 0
            || (seg.mark_offsets.first() == Some(&0)
                && seg.mark_offsets.last().map(|o| *o as usize) == Some(marks)
                && seg.mark_offsets.windows(2).all(|w| w[0] <= w[1])));
    if !offsets_hold || !signals_hold || !marks_hold || seg.ids.windows(2).any(|w| w[0] >= w[1]) {
        return Err(invalid(path, "a segment that does not hold together"));
    }
    Ok(seg)
}

fn invalid(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}", path.display()),
    )
}

/// A writer that keeps the CRC of what it wrote.
pub(super) struct Out {
    inner: BufWriter<File>,
    crc: flate2::Crc,
    /// Bytes written so far.
    pos: usize,
}

impl Out {
    pub(super) fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.pos += b.len();
        self.inner.write_all(b)
    }
    /// Pads to where the next array of numbers must start.
    pub(super) fn align(&mut self) -> io::Result<()> {
        let pad = (ALIGN - self.pos % ALIGN) % ALIGN;
        self.raw(&[0u8; ALIGN][..pad])
    }
    /// `array`, starting where a mapped reader can take it in place.
    pub(super) fn aligned<T, const N: usize>(
        &mut self,
        items: &[T],
        bytes: impl Fn(&T) -> [u8; N],
    ) -> io::Result<()> {
        self.align()?;
        self.array(items, bytes)
    }
    pub(super) fn u32(&mut self, v: u32) -> io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    pub(super) fn u64(&mut self, v: u64) -> io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    pub(super) fn i64(&mut self, v: i64) -> io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    pub(super) fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.u64(b.len() as u64)?;
        self.raw(b)
    }
    /// Numbers as they lie in memory where that is little-endian.
    pub(super) fn numbers<T, const N: usize>(
        &mut self,
        items: &[T],
        to_le: impl Fn(&T) -> [u8; N],
    ) -> io::Result<()>
    where
        T: zerocopy::IntoBytes + zerocopy::Immutable,
    {
        self.align()?;
        if cfg!(target_endian = "big") || std::mem::size_of::<T>() != N {
            return self.array(items, to_le);
        }
        self.raw(zerocopy::IntoBytes::as_bytes(items))
    }

    /// Each item as its `N` bytes, through a buffer of many.
    pub(super) fn array<T, const N: usize>(
        &mut self,
        items: &[T],
        bytes: impl Fn(&T) -> [u8; N],
    ) -> io::Result<()> {
        let mut buf = Vec::with_capacity(N * items.len().min(1 << 16));
        for chunk in items.chunks(1 << 16) {
            buf.clear();
            for item in chunk {
                buf.extend_from_slice(&bytes(item));
            }
            self.raw(&buf)?;
        }
        Ok(())
    }
}

/// A reader over the mapped file that keeps the CRC of what it read.
pub(super) struct In {
    map: Arc<memmap2::Mmap>,
    pos: usize,
    crc: flate2::Crc,
}

/// More than this in one length is a broken file, not a big site.
const MAX_LEN: u64 = 1 << 34;

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends too soon")
}

impl In {
    /// The next `n` bytes, counted into the CRC.
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.map.len())
            .ok_or_else(eof)?;
        let bytes = &self.map[self.pos..end];
        self.crc.update(bytes);
        self.pos = end;
        Ok(bytes)
    }
    fn raw(&mut self, b: &mut [u8]) -> io::Result<()> {
        let n = b.len();
        b.copy_from_slice(self.take(n)?);
        Ok(())
    }
    /// Skips the padding the writer put before an array of numbers.
    fn align(&mut self) -> io::Result<()> {
        let pad = (ALIGN - self.pos % ALIGN) % ALIGN;
        self.take(pad).map(|_| ())
    }
    /// The stored CRC, after everything it covers.
    fn trailer(&mut self) -> io::Result<u32> {
        let b = self.map.get(self.pos..self.pos + 4).ok_or_else(eof)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.raw(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub(super) fn i64(&mut self) -> io::Result<i64> {
        let mut b = [0u8; 8];
        self.raw(&mut b)?;
        Ok(i64::from_le_bytes(b))
    }
    pub(super) fn len(&mut self) -> io::Result<usize> {
        let mut b = [0u8; 8];
        self.raw(&mut b)?;
        let n = u64::from_le_bytes(b);
        if n > MAX_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a length past any site",
            ));
        }
        Ok(n as usize)
    }
    pub(super) fn bytes(&mut self) -> io::Result<Vec<u8>> {
        let n = self.len()?;
        Ok(self.take(n)?.to_vec())
    }
    /// `n` items of `N` bytes each, decoded.
    pub(super) fn array<T, const N: usize>(
        &mut self,
        n: usize,
        item: impl Fn([u8; N]) -> T,
    ) -> io::Result<Vec<T>> {
        let bytes = self.take(n.checked_mul(N).ok_or_else(eof)?)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|c| item(c.try_into().expect("N bytes")))
            .collect())
    }
    /// `n` little-endian numbers, copied out.
    pub(super) fn numbers<T, const N: usize>(
        &mut self,
        n: usize,
        from_le: impl Fn([u8; N]) -> T,
    ) -> io::Result<Vec<T>> {
        self.align()?;
        self.array(n, from_le)
    }
    /// `n` little-endian numbers as a column that reads them where they
    /// lie in the map (copied out on a big-endian machine).
    fn column<T>(&mut self, n: usize) -> io::Result<Column<T>>
    where
        T: zerocopy::FromBytes + zerocopy::Immutable + zerocopy::KnownLayout + Clone + Number,
    {
        self.align()?;
        let at = self.pos;
        let bytes = self.take(n.checked_mul(std::mem::size_of::<T>()).ok_or_else(eof)?)?;
        if cfg!(target_endian = "big") {
            return Ok(Column::Owned(
                bytes
                    .chunks_exact(std::mem::size_of::<T>())
                    .map(T::from_le)
                    .collect(),
            ));
        }
        let mapped = Mapped::new(&self.map, at, n)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a column out of line"))?;
        Ok(Column::Mapped(mapped))
    }
}

/// Where arrays of numbers start in the file: at multiples of 8 bytes,
/// so that a mapped column is aligned for any of them.
const ALIGN: usize = 8;

/// A number stored little-endian.
trait Number: Sized {
    fn from_le(b: &[u8]) -> Self;
}

impl Number for i64 {
    fn from_le(b: &[u8]) -> i64 {
        i64::from_le_bytes(b.try_into().expect("8 bytes"))
    }
}

impl Number for u32 {
    fn from_le(b: &[u8]) -> u32 {
        u32::from_le_bytes(b.try_into().expect("4 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::site::{Selection, Wanted};
    use crate::mine::testing::Rng;
    use crate::store::journeys::JourneyRow;

    /// A site of random sessions, some changed after they were first taken.
    fn site(rng: &mut Rng) -> SiteJourneys {
        let mut site = SiteJourneys::default();
        let channels = ["direct", "search", "social"];
        let mut changes = Vec::new();
        for id in 1..=3000i64 {
            let again = rng.below(4) == 0;
            for _ in 0..1 + usize::from(again) {
                let n = 1 + rng.below(6) as usize;
                let pages: Vec<u8> = (0..n)
                    .flat_map(|_| (1 + rng.below(9) as u32).to_le_bytes())
                    .collect();
                let times: Vec<u8> = (0..n as u32)
                    .flat_map(|i| (i * 7000).to_le_bytes())
                    .collect();
                let signals: Vec<u8> = (0..n).flat_map(|_| [rng.below(2) as u8, 0, 0]).collect();
                let start = 1_000_000 + id * 1000;
                let marks: Vec<crate::event::Mark> = (0..rng.below(3))
                    .map(|i| crate::event::Mark {
                        after: rng.below(n as u64 + 1) as u32,
                        ts: start + i as i64 * 500,
                        name: ["add_to_cart", "purchase"][rng.below(2) as usize].into(),
                        props: serde_json::json!({"revenue": rng.below(90), "sku": rng.below(3)})
                            .as_object()
                            .cloned(),
                    })
                    .collect();
                let mut marks = marks;
                marks.sort_by_key(|m| m.after);
                let marks = crate::event::pack_marks(start, &marks);
                let row = JourneyRow {
                    id,
                    site_id: 7,
                    visitor: rng.below(900) as i64,
                    start: 1_000_000 + id * 1000,
                    end: 1_000_000 + id * 1000 + 9000,
                    pages: &pages,
                    times: &times,
                    signals: &signals,
                    channel: channels[rng.below(3) as usize],
                    device: "mobile",
                    country: (rng.below(2) == 0).then_some("SE"),
                    referrer_domain: None,
                    entry_page: Some(1),
                    is_bot: rng.below(10) == 0,
                    utm_campaign: (rng.below(3) == 0).then_some("spring"),
                    marks: &marks,
                };
                changes.extend(site.take(&row));
            }
        }
        site.merge(changes);
        site
    }

    type Held = (i64, Vec<u32>, Vec<i64>, Vec<crate::mine::JourneyMark>);

    fn everything(site: &SiteJourneys) -> Vec<Held> {
        let clean: Vec<u32> = (0..10).collect();
        let sel = Selection::new(site.snapshot(), &site.selector(&Wanted::default()));
        sel.journeys(&clean, false, None, None, None)
            .flat_map(|b| {
                b.iter()
                    .map(|j| {
                        let marks = j.marks.to_vec();
                        (j.session_id, j.pages.to_vec(), j.times.to_vec(), marks)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_site_comes_back_as_it_was_written_and_a_broken_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(42);
        let written = site(&mut rng);
        write(dir.path(), 7, 123, 50, &written).unwrap();
        let (watermark, read_back) = read(dir.path(), 7, 123, 60).unwrap().expect("a snapshot");
        assert_eq!(watermark, 50);
        assert_eq!(read_back.segments, written.segments);
        assert_eq!(read_back.visitor_count(), written.visitor_count());
        let held = everything(&written);
        assert!(held.iter().filter(|h| !h.3.is_empty()).count() > 1000);
        assert_eq!(everything(&read_back), held);
        assert_eq!(
            read_back.dicts().map(|d| d.names()),
            written.dicts().map(|d| d.names())
        );
        // Another site with the same id, or a store behind the file.
        assert!(read(dir.path(), 7, 124, 60).unwrap().is_none());
        assert!(read(dir.path(), 7, 123, 49).unwrap().is_none());
        assert!(read(dir.path(), 8, 123, 60).unwrap().is_none());
        // A flipped byte, and a torn file.
        let path = file(dir.path(), 7);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(dir.path(), 7, 123, 60).is_err());
        bytes[middle] ^= 0x40;
        std::fs::write(&path, &bytes[..bytes.len() - 9]).unwrap();
        assert!(read(dir.path(), 7, 123, 60).is_err());
    }
}
