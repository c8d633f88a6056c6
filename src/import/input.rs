//! Opening what `trailmap import` reads: files or stdin, gzip or plain
//! (by magic bytes, not name), identified by content so that a rotated or
//! copied log is recognised, and read line by line with the byte offset in
//! the decompressed stream, so an import can resume where it stopped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

/// How many leading bytes identify an input. Enough to cover dozens of log
/// lines with their timestamps, so two different logs never share it.
const IDENTITY_BYTES: usize = 64 * 1024;
const BUFFER: usize = 256 * 1024;

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    File(PathBuf),
    Stdin,
}

impl Source {
    /// `-` is stdin, anything else a path.
    pub(crate) fn parse(arg: &str) -> Source {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    pub(crate) fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Stdin => "-".into(),
        }
    }
}

/// An opened input: its identity, and its lines.
pub(crate) struct Input {
    pub identity: String,
    /// The compressed size of a file, for progress (None for stdin).
    pub size: Option<u64>,
    reader: Box<dyn BufRead>,
    /// Bytes of the (decompressed) stream consumed so far.
    pub offset: u64,
}

impl Input {
    pub(crate) fn open(source: &Source) -> io::Result<Input> {
        let (raw, size): (Box<dyn Read>, Option<u64>) = match source {
            Source::File(path) => {
                let f = File::open(path).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
                })?;
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(f), size)
            }
            Source::Stdin => (Box::new(io::stdin()), None),
        };
        let mut buffered = BufReader::with_capacity(BUFFER, raw);
        let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let mut reader: Box<dyn BufRead> = if gzip {
            Box::new(BufReader::with_capacity(
                BUFFER,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        let identity = identity_of(&mut reader)?;
        Ok(Input {
            identity,
            size,
            reader,
            offset: 0,
        })
    }

    /// Skips `bytes` of the stream (already imported).
    pub(crate) fn skip(&mut self, bytes: u64) -> io::Result<u64> {
        let skipped = io::copy(&mut (&mut self.reader).take(bytes), &mut io::sink())?;
        self.offset += skipped;
        Ok(skipped)
    }

    /// Reads the next line into `buf` (cleared first, newline kept). A last
    /// line without a newline is still a line. A line longer than
    /// `max_bytes` (newline not counted) is read past without being held
    /// in memory: `buf` is left empty and [`Line::TooLong`] returned, so a
    /// 300 MB line costs no more memory than a short one.
    pub(crate) fn next_line(&mut self, buf: &mut Vec<u8>, max_bytes: usize) -> io::Result<Line> {
        buf.clear();
        let mut consumed = 0usize;
        let mut too_long = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            let (used, ends_line) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                let content = used - usize::from(ends_line);
                if buf.len() + content > max_bytes {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(&chunk[..used]);
                }
            }
            self.reader.consume(used);
            consumed += used;
            if ends_line {
                break;
            }
        }
        self.offset += consumed as u64;
        Ok(match (consumed, too_long) {
            (0, _) => Line::End,
            (_, true) => Line::TooLong,
            _ => Line::Read,
        })
    }
}

/// What [`Input::next_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line, in the buffer.
    Read,
    /// A line longer than the limit, skipped.
    TooLong,
    /// The end of the input.
    End,
}

/// SHA-256 of the first bytes, without consuming them: the buffered reader
/// is filled until it holds `IDENTITY_BYTES` or the stream ends.
fn identity_of(reader: &mut Box<dyn BufRead>) -> io::Result<String> {
    // A BufRead only exposes what it has buffered; read the head into memory
    // and chain it back in front of the rest.
    let mut head = Vec::with_capacity(IDENTITY_BYTES);
    (&mut *reader)
        .take(IDENTITY_BYTES as u64)
        .read_to_end(&mut head)?;
    let digest = Sha256::digest(&head);
    let identity = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let rest = std::mem::replace(reader, Box::new(io::empty()));
    *reader = Box::new(BufReader::with_capacity(
        BUFFER,
        io::Cursor::new(head).chain(rest),
    ));
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn plain_and_gzip_inputs_read_the_same_lines_with_the_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"one\ntwo\nthree";
        let plain = dir.path().join("a.log");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("a.log.1");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        enc.finish().unwrap();
        let mut ids = vec![];
        for path in [plain, gz] {
            let mut input = Input::open(&Source::File(path)).unwrap();
            let mut lines = vec![];
            let mut buf = vec![];
            while input.next_line(&mut buf, 100).unwrap() == Line::Read {
                lines.push(String::from_utf8(buf.clone()).unwrap());
            }
            assert_eq!(lines, ["one\n", "two\n", "three"]);
            assert_eq!(input.offset, text.len() as u64);
            ids.push(input.identity);
        }
        assert_eq!(ids[0], ids[1], "identity is the content, compressed or not");
    }

    #[test]
    fn skip_resumes_at_an_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, b"one\ntwo\nthree\n").unwrap();
        let mut input = Input::open(&Source::File(path)).unwrap();
        assert_eq!(input.skip(4).unwrap(), 4);
        let mut buf = vec![];
        input.next_line(&mut buf, 100).unwrap();
        assert_eq!(buf, b"two\n");
        assert_eq!(input.offset, 8);
    }

    #[test]
    fn over_long_lines_are_skipped_whole_and_counted_in_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let long = "x".repeat(BUFFER * 3);
        std::fs::write(&path, format!("12345\n123456\n{long}\nok\n{long}")).unwrap();
        let mut input = Input::open(&Source::File(path)).unwrap();
        let mut buf = vec![];
        let mut got = vec![];
        loop {
            let line = input.next_line(&mut buf, 5).unwrap();
            if line == Line::End {
                break;
            }
            got.push((line, String::from_utf8(buf.clone()).unwrap()));
            assert!(buf.capacity() < 1024, "an over-long line is never held");
        }
        let read = |s: &str| (Line::Read, s.to_string());
        let long_line = (Line::TooLong, String::new());
        assert_eq!(
            got,
            [
                read("12345\n"),
                long_line.clone(),
                long_line.clone(),
                read("ok\n"),
                long_line
            ]
        );
        assert_eq!(
            input.offset as usize,
            6 + 7 + long.len() + 1 + 3 + long.len()
        );
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = Input::open(&Source::File("/no/such.log".into()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("/no/such.log"));
    }
}
