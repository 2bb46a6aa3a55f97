//! Which migrations the database has, against the ones this binary carries: the readiness
//! probe's schema check. Read only (the migrator's own status call would create its table).

use std::collections::BTreeSet;

use agora_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbErr, Statement};

/// More rows than that in the migrations table is not a schema this binary could know: the
/// read stops there.
const MAX_ROWS: usize = 10_000;

/// The database's migrations compared with the binary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrations {
    /// Rows in the database's migrations table.
    pub applied: usize,
    /// Migrations this binary carries.
    pub expected: usize,
    /// The binary's migrations the database does not have (it is behind), in order.
    pub missing: Vec<String>,
    /// Migrations the database has and this binary does not know (a newer binary applied
    /// them: the database is ahead), in name order.
    pub unknown: Vec<String>,
}

impl Migrations {
    pub fn is_behind(&self) -> bool {
        !self.missing.is_empty()
    }

    pub fn is_ahead(&self) -> bool {
        !self.unknown.is_empty()
    }
}

/// The names of the migrations this binary carries, in the order they apply.
pub fn expected() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

/// Reads the applied migrations (one query) and compares them with [`expected`]. An error
/// means the database could not be read: unreachable, or never migrated.
pub async fn check(db: &impl ConnectionTrait) -> Result<Migrations, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all(Statement::from_string(
            backend,
            format!("SELECT version FROM seaql_migrations LIMIT {MAX_ROWS}"),
        ))
        .await?;
    let mut applied = BTreeSet::new();
    for row in &rows {
        applied.insert(row.try_get::<String>("", "version")?);
    }
    Ok(compare(&expected(), &applied))
}

fn compare(expected: &[String], applied: &BTreeSet<String>) -> Migrations {
    let known: BTreeSet<&String> = expected.iter().collect();
    Migrations {
        applied: applied.len(),
        expected: expected.len(),
        missing: expected
            .iter()
            .filter(|name| !applied.contains(*name))
            .cloned()
            .collect(),
        unknown: applied
            .iter()
            .filter(|name| !known.contains(name))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn behind_and_ahead_are_told_apart() {
        let expected = names(&["m1", "m2", "m3"]);
        let same: BTreeSet<String> = names(&["m1", "m2", "m3"]).into_iter().collect();
        let status = compare(&expected, &same);
        assert!(!status.is_behind() && !status.is_ahead());
        assert_eq!((status.applied, status.expected), (3, 3));

        let behind: BTreeSet<String> = names(&["m1"]).into_iter().collect();
        let status = compare(&expected, &behind);
        assert_eq!(status.missing, names(&["m2", "m3"]));
        assert!(status.is_behind() && !status.is_ahead());

        let ahead: BTreeSet<String> = names(&["m1", "m2", "m3", "m4"]).into_iter().collect();
        let status = compare(&expected, &ahead);
        assert_eq!(status.unknown, names(&["m4"]));
        assert!(status.is_ahead() && !status.is_behind());
    }

    #[test]
    fn the_binary_carries_its_migrations_in_order() {
        let names = expected();
        assert!(names.len() >= 14, "{names:?}");
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(
            names, sorted,
            "migration names sort in the order they apply"
        );
    }
}
