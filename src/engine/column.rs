//! One column of a segment: a vector the engine owns, or an array in a
//! snapshot file mapped into memory ([`super::snapshot`]). A process that
//! starts from a snapshot maps the file and reads its columns where they
//! lie, instead of copying a gigabyte into fresh memory (at ten million
//! sessions that copy, mostly the kernel zeroing new pages, was a second
//! of every CLI command). The first change to a mapped column copies it
//! into a vector of its own ([`Column::to_mut`]); the file stays as it was.

use std::ops::Deref;
use std::sync::Arc;
use zerocopy::{FromBytes, Immutable, KnownLayout};

/// A column's items: owned, or in a mapped file.
pub(crate) enum Column<T> {
    Owned(Vec<T>),
    Mapped(Mapped<T>),
}

/// `len` items at byte `at` of a mapped file, checked when made: in the
/// map, aligned for `T`.
pub(crate) struct Mapped<T> {
    map: Arc<memmap2::Mmap>,
    at: usize,
    len: usize,
    item: std::marker::PhantomData<T>,
}

impl<T: FromBytes + Immutable + KnownLayout> Mapped<T> {
    /// The items at `at`, if they lie in the map and are aligned for `T`.
    pub(crate) fn new(map: &Arc<memmap2::Mmap>, at: usize, len: usize) -> Option<Mapped<T>> {
        let bytes = map.get(at..at.checked_add(len.checked_mul(std::mem::size_of::<T>())?)?)?;
        <[T]>::ref_from_bytes(bytes).ok()?;
        Some(Mapped {
            map: map.clone(),
            at,
            len,
            item: std::marker::PhantomData,
        })
    }

    fn items(&self) -> &[T] {
        let bytes = &self.map[self.at..self.at + self.len * std::mem::size_of::<T>()];
        // Checked in `new`, and a map never moves or shrinks.
        <[T]>::ref_from_bytes(bytes).unwrap_or(&[])
    }
}

impl<T: FromBytes + Immutable + KnownLayout> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            Column::Mapped(m) => m.items(),
        }
    }
}

impl<T: FromBytes + Immutable + KnownLayout + Clone> Column<T> {
    /// The items as a vector to change, copied out of the map first.
    pub(crate) fn to_mut(&mut self) -> &mut Vec<T> {
        if let Column::Mapped(m) = self {
            *self = Column::Owned(m.items().to_vec());
        }
        match self {
            Column::Owned(v) => v,
            Column::Mapped(_) => unreachable!("copied just above"),
        }
    }

    /// Gives back an owned column's spare capacity.
    pub(crate) fn shrink(&mut self) {
        if let Column::Owned(v) = self {
            v.shrink_to_fit();
        }
    }
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T: Clone> Clone for Column<T> {
    /// A mapped column is shared, not copied.
    fn clone(&self) -> Self {
        match self {
            Column::Owned(v) => Column::Owned(v.clone()),
            Column::Mapped(m) => Column::Mapped(Mapped {
                map: m.map.clone(),
                at: m.at,
                len: m.len,
                item: std::marker::PhantomData,
            }),
        }
    }
}

impl<T: FromBytes + Immutable + KnownLayout + PartialEq> PartialEq for Column<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: FromBytes + Immutable + KnownLayout + std::fmt::Debug> std::fmt::Debug for Column<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().take(8)).finish()
    }
}
