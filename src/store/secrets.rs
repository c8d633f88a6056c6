//! The secrets the store keeps: the daily visitor-id salts and the hash of
//! the API token. The token itself is never stored; only its SHA-256, so a
//! copy of the database does not hand out dashboard access.

use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::Result;

const TOKEN_KEY: &str = "api_token_sha256";

/// Today's and yesterday's salts for `day`, creating today's if needed and
/// deleting older ones, so old visitor ids can never be recomputed.
pub(crate) fn rotate_salts(
    conn: &mut Connection,
    day: i64,
) -> Result<([u8; 16], Option<[u8; 16]>)> {
    let tx = conn.transaction()?;
    let fresh: [u8; 16] = rand::random();
    tx.execute(
        "INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)",
        params![day, &fresh[..]],
    )?;
    tx.execute("DELETE FROM salts WHERE day < ?1", params![day - 1])?;
    let get = |d: i64| -> Result<Option<[u8; 16]>> {
        let blob: Option<Vec<u8>> = tx
            .query_row("SELECT salt FROM salts WHERE day = ?1", [d], |r| r.get(0))
            .optional()?;
        Ok(blob.and_then(|b| b.try_into().ok()))
    };
    let current = get(day)?.expect("inserted above");
    let previous = get(day - 1)?;
    tx.commit()?;
    Ok((current, previous))
}

/// SHA-256 of a token, hex-encoded.
pub(crate) fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored token digest, if a token was generated before.
pub(crate) fn token_hash(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [TOKEN_KEY], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Generates a new random token, stores its digest (replacing any older
/// one) and returns the token, which the caller shows once.
pub(crate) fn generate_token(conn: &Connection) -> Result<String> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![TOKEN_KEY, token_digest(&token)],
    )?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn salts_rotate_daily_and_old_ones_are_deleted() {
        let (_dir, store) = db();
        let mut conn = store.admin().unwrap();
        let (d10, prev) = rotate_salts(&mut conn, 10).unwrap();
        assert_eq!(prev, None);
        assert_eq!(
            rotate_salts(&mut conn, 10).unwrap(),
            (d10, None),
            "stable within a day"
        );
        let (d11, prev) = rotate_salts(&mut conn, 11).unwrap();
        assert_eq!(prev, Some(d10));
        assert_ne!(d11, d10);
        let (_, prev) = rotate_salts(&mut conn, 12).unwrap();
        assert_eq!(prev, Some(d11));
        let days: Vec<i64> = conn
            .prepare("SELECT day FROM salts ORDER BY day")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(days, [11, 12], "day 10's salt is gone for good");
    }

    #[test]
    fn only_the_token_digest_is_stored() {
        let (_dir, store) = db();
        let conn = store.admin().unwrap();
        assert_eq!(token_hash(&conn).unwrap(), None);
        let token = generate_token(&conn).unwrap();
        assert_eq!(token.len(), 48);
        assert_eq!(token_hash(&conn).unwrap(), Some(token_digest(&token)));
        let again = generate_token(&conn).unwrap();
        assert_ne!(again, token);
        assert_eq!(token_hash(&conn).unwrap(), Some(token_digest(&again)));
    }
}
