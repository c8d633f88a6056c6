//! [`SearchIndex`]: the on-disk index, its single writer and its reader.
//!
//! One `IndexWriter` (one indexing thread, a modest memory budget: the same
//! cores serve ingest) behind a mutex, and one `IndexReader` that is
//! reloaded by hand right after each commit, so a search that starts after
//! `commit` returns sees what was committed (tantivy's default policy
//! reloads a little later, on a file watcher).
//!
//! Each commit carries the store's change counter (the watermark) in its
//! payload: after a crash, the caller re-feeds every change after it. The
//! payload also carries [`schema::INDEX_VERSION`], so an index written by
//! an older trailmap is recognised and rebuilt.

use std::fs;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::columnar::Column;
use tantivy::query::Query;
use tantivy::schema::Schema;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyError, Term,
};

use super::schema::{self, Fields, INDEX_VERSION, SESSION_ID};
use super::topk::{self, Samples};
use super::{query, SearchError, SearchFilters, SearchResults, SessionDoc, Sort};

/// Most hits returned by one search; larger limits are clamped.
pub(crate) const MAX_LIMIT: usize = 1000;
/// The writer's memory budget: it flushes a segment when reached.
const WRITER_MEMORY: usize = 50_000_000;
/// tantivy's smallest budget, for a writer taken only to check the lock.
const MIN_WRITER_MEMORY: usize = 15_000_000;
/// Commit payload: `trailmap-search v<INDEX_VERSION> watermark=<n>`.
const PAYLOAD_TAG: &str = "trailmap-search";

/// What [`SearchIndex::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opened {
    /// A compatible index: catch up from [`SearchIndex::watermark`].
    Existing,
    /// No index was there: index everything.
    Created,
    /// An index of another schema or version (or unreadable) was wiped:
    /// index everything.
    Recreated,
}

/// The session search index. `Send + Sync`: share it in an `Arc`. Writes
/// serialise on the writer's mutex; searches never wait for writes (they
/// share only a small per-commit cache).
pub(crate) struct SearchIndex {
    fields: Fields,
    /// `None` when opened read-only.
    writer: Mutex<Option<IndexWriter>>,
    reader: IndexReader,
    watermark: Mutex<Option<i64>>,
    samples: Mutex<Option<Arc<Samples>>>,
    /// Hit count from which `topk` tries windows; lowered by tests.
    plain_below: usize,
    /// How it was opened: for the tests of recreating a broken index.
    #[cfg_attr(not(test), allow(dead_code))]
    opened: Opened,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating the directory and the index if
    /// missing. An index of another schema or version is wiped and
    /// recreated empty; [`SearchIndex::opened`] says so. `dir` must be the
    /// index's own directory: a wipe removes the files in it.
    pub(crate) fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let (schema, fields) = schema::build();
        let (index, opened) = if !dir.join("meta.json").exists() {
            (create(dir, &schema)?, Opened::Created)
        } else {
            match Index::open_in_dir(dir) {
                Ok(index) if compatible(&index, &schema)? => (index, Opened::Existing),
                // Derived data: anything we cannot read as ours is rebuilt,
                // unless another process is writing it.
                Ok(old) => {
                    drop(writer(&old, dir, MIN_WRITER_MEMORY)?);
                    drop(old);
                    wipe(dir)?;
                    (create(dir, &schema)?, Opened::Recreated)
                }
                Err(
                    TantivyError::IncompatibleIndex(_)
                    | TantivyError::DataCorruption(_)
                    | TantivyError::DeserializeError(_)
                    | TantivyError::SchemaError(_),
                ) => {
                    wipe(dir)?;
                    (create(dir, &schema)?, Opened::Recreated)
                }
                Err(e) => return Err(e.into()),
            }
        };
        schema::register_tokenizers(index.tokenizers());
        let writer = writer(&index, dir, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let watermark = payload_watermark(index.load_metas()?.payload.as_deref());
        Ok(SearchIndex {
            fields,
            writer: Mutex::new(Some(writer)),
            reader,
            watermark: Mutex::new(watermark),
            samples: Mutex::new(None),
            plain_below: topk::PLAIN_BELOW,
            opened,
        })
    }

    /// Whether `open` found, created or recreated the index.
    #[cfg(test)]
    pub(crate) fn opened(&self) -> Opened {
        self.opened
    }

    /// Adds sessions, replacing any indexed under the same id. Visible to
    /// searches after the next [`SearchIndex::commit`].
    pub(crate) fn upsert(&self, docs: &[SessionDoc]) -> Result<(), SearchError> {
        let writer = self.writer()?;
        for d in docs {
            // Deletes apply to everything added before them, adds after
            // them survive: delete-then-add replaces.
            writer.delete_term(Term::from_field_i64(self.fields.session_id, d.session_id));
            writer.add_document(schema::to_document(&self.fields, d))?;
        }
        Ok(())
    }

    /// Removes sessions by id, at the next commit.
    #[cfg(test)]
    pub(crate) fn delete(&self, session_ids: &[i64]) -> Result<(), SearchError> {
        let writer = self.writer()?;
        for &id in session_ids {
            writer.delete_term(Term::from_field_i64(self.fields.session_id, id));
        }
        Ok(())
    }

    /// Makes every change so far durable and visible to searches, and
    /// records `watermark`. After an error the writer may be unusable:
    /// reopen the index and catch up from [`SearchIndex::watermark`].
    pub(crate) fn commit(&self, watermark: i64) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!(
            "{PAYLOAD_TAG} v{INDEX_VERSION} watermark={watermark}"
        ));
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        *lock(&self.watermark)? = Some(watermark);
        Ok(())
    }

    /// The watermark of the last commit; `None` for a new index.
    pub(crate) fn watermark(&self) -> Option<i64> {
        // A poisoned lock still holds the last value written.
        *self.watermark.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deletes every session, including uncommitted ones, at the next
    /// commit: `clear`, upsert everything, `commit` is a reindex during
    /// which searches still see the old index.
    pub(crate) fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self.writer()?;
        // Without the rollback, documents still in the indexing thread's
        // buffer would survive `delete_all_documents`.
        writer.rollback()?;
        writer.delete_all_documents()?;
        Ok(())
    }

    /// One page (`offset`, `limit` ≤ [`MAX_LIMIT`]) of `site`'s sessions
    /// matching `query`, and the number of all matches.
    #[cfg(test)]
    pub(crate) fn search(
        &self,
        site_id: i64,
        query: &str,
        sort: Sort,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults, SearchError> {
        let no_filters = SearchFilters::default();
        self.search_filtered(site_id, query, &no_filters, sort, offset, limit)
    }

    /// [`SearchIndex::search`], narrowed by the dashboards' `filters`.
    pub(crate) fn search_filtered(
        &self,
        site_id: i64,
        query: &str,
        filters: &SearchFilters,
        sort: Sort,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults, SearchError> {
        let q = query::build(&self.fields, site_id, query, filters).map_err(SearchError::Query)?;
        let searcher = self.reader.searcher();
        let limit = limit.min(MAX_LIMIT);
        // Past the last document nothing can be returned; checking here
        // also keeps a huge offset from sizing the collector's buffer.
        if limit == 0 || offset >= searcher.num_docs() as usize {
            let total = q.count(&searcher)?;
            return Ok(SearchResults {
                total,
                session_ids: Vec::new(),
            });
        }
        let total = q.count(&searcher)?;
        let samples = self.samples(&searcher)?;
        let hits = topk::top(
            &searcher,
            &self.fields,
            &samples,
            q.as_ref(),
            sort,
            offset,
            limit,
            total,
            self.plain_below,
        )?;
        let session_ids = session_ids(&searcher, &hits)?;
        Ok(SearchResults { total, session_ids })
    }

    /// Committed sessions, over all sites.
    #[cfg(test)]
    pub(crate) fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Segments in the current searcher (for the benchmark's report).
    #[cfg(all(test, feature = "dev"))]
    pub(crate) fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Makes `topk` use windows from `hits` hits on (for tests).
    #[cfg(test)]
    pub(crate) fn set_plain_below(&mut self, hits: usize) {
        self.plain_below = hits;
    }

    /// The sort-key samples of this searcher's generation, built on the
    /// first search after a commit.
    fn samples(&self, searcher: &Searcher) -> Result<Arc<Samples>, SearchError> {
        let mut cached = lock(&self.samples)?;
        let generation = searcher.generation().generation_id();
        if let Some(s) = cached.as_ref().filter(|s| s.generation() == generation) {
            return Ok(Arc::clone(s));
        }
        let fresh = Arc::new(Samples::build(searcher)?);
        *cached = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    fn writer(&self) -> Result<WriterGuard<'_>, SearchError> {
        let guard = lock(&self.writer)?;
        if guard.is_none() {
            return Err(SearchError::Index(
                "the search index is open read-only".into(),
            ));
        }
        Ok(WriterGuard(guard))
    }

    /// Opens an existing index for searching only, beside the process
    /// that writes it (a running server): for `trailmap search`.
    pub(crate) fn open_read_only(dir: &Path) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema::build();
        if !dir.join("meta.json").exists() {
            return Err(SearchError::Index(format!(
                "no search index at {}: run `trailmap reindex` (or `trailmap serve`) first",
                dir.display()
            )));
        }
        let index = Index::open_in_dir(dir)?;
        if !compatible(&index, &schema)? {
            return Err(SearchError::Index(format!(
                "the search index at {} is of another version: run `trailmap reindex`",
                dir.display()
            )));
        }
        schema::register_tokenizers(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let watermark = payload_watermark(index.load_metas()?.payload.as_deref());
        Ok(SearchIndex {
            fields,
            writer: Mutex::new(None),
            reader,
            watermark: Mutex::new(watermark),
            samples: Mutex::new(None),
            plain_below: topk::PLAIN_BELOW,
            opened: Opened::Existing,
        })
    }
}

/// The index writer, present (checked by [`SearchIndex::writer`]).
struct WriterGuard<'a>(MutexGuard<'a, Option<IndexWriter>>);

impl std::ops::Deref for WriterGuard<'_> {
    type Target = IndexWriter;
    fn deref(&self) -> &IndexWriter {
        self.0.as_ref().expect("checked when the guard was made")
    }
}

impl std::ops::DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut IndexWriter {
        self.0.as_mut().expect("checked when the guard was made")
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, SearchError> {
    m.lock()
        .map_err(|_| SearchError::Index("a thread panicked while writing the index".into()))
}

/// Hits → session ids, through the `session_id` column (opened once per
/// segment, not once per hit).
fn session_ids(searcher: &Searcher, hits: &[DocAddress]) -> Result<Vec<i64>, SearchError> {
    let mut columns: Vec<Option<Column<i64>>> = vec![None; searcher.segment_readers().len()];
    let mut ids = Vec::with_capacity(hits.len());
    for hit in hits {
        let slot = columns
            .get_mut(hit.segment_ord as usize)
            .ok_or_else(|| SearchError::Index("hit in an unknown segment".into()))?;
        if slot.is_none() {
            let reader = searcher.segment_reader(hit.segment_ord);
            *slot = Some(reader.fast_fields().i64(SESSION_ID)?);
        }
        let id = slot
            .as_ref()
            .and_then(|c| c.first(hit.doc_id))
            .ok_or_else(|| SearchError::Index("a document without a session id".into()))?;
        ids.push(id);
    }
    Ok(ids)
}

/// The index's single writer, with one indexing thread; tantivy's lock
/// file makes a second one (another process) fail.
fn writer(index: &Index, dir: &Path, memory: usize) -> Result<IndexWriter, SearchError> {
    index
        .writer_with_num_threads(1, memory)
        .map_err(|e| match e {
            TantivyError::LockFailure(..) => SearchError::Index(format!(
                "the search index at {} is in use by another process",
                dir.display()
            )),
            e => e.into(),
        })
}

fn create(dir: &Path, schema: &Schema) -> Result<Index, SearchError> {
    Ok(Index::create_in_dir(dir, schema.clone())?)
}

/// Same schema, and no payload from another index version.
fn compatible(index: &Index, schema: &Schema) -> Result<bool, SearchError> {
    if index.schema() != *schema {
        return Ok(false);
    }
    let metas = index.load_metas()?;
    Ok(match metas.payload.as_deref() {
        None => true,
        Some(p) => payload_version(p) == Some(INDEX_VERSION),
    })
}

fn payload_version(payload: &str) -> Option<u32> {
    let mut parts = payload.split_whitespace();
    if parts.next() != Some(PAYLOAD_TAG) {
        return None;
    }
    parts.next()?.strip_prefix('v')?.parse().ok()
}

fn payload_watermark(payload: Option<&str>) -> Option<i64> {
    payload?
        .split_whitespace()
        .find_map(|part| part.strip_prefix("watermark="))?
        .parse()
        .ok()
}

/// Removes the files of the index directory (not subdirectories).
fn wipe(dir: &Path) -> Result<(), SearchError> {
    let entries = fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file {
            fs::remove_file(entry.path()).map_err(|e| io_error(&entry.path(), &e))?;
        }
    }
    Ok(())
}

fn io_error(path: &Path, e: &std::io::Error) -> SearchError {
    SearchError::Index(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let p = format!("{PAYLOAD_TAG} v{INDEX_VERSION} watermark=-42");
        assert_eq!(payload_version(&p), Some(INDEX_VERSION));
        assert_eq!(payload_watermark(Some(&p)), Some(-42));
        assert_eq!(payload_version("something else"), None);
        assert_eq!(payload_watermark(None), None);
    }
}
