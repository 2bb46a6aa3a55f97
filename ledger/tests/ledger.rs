//! The ledger on a real (SQLite, in-memory) database with the real schema: posting rules,
//! two-phase entries, idempotency, guards, verification, and random operation sequences that
//! must keep every invariant.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use agora_ledger::journal::{self, check_balanced};
use agora_ledger::verify::verify;
use agora_ledger::{
    AccountKind, AccountRef, Currency, LedgerError, LineSpec, NewEntry, Resolution,
};
use agora_migrations::{Migrator, MigratorTrait};
use chrono::Utc;
use proptest::prelude::*;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use uuid::Uuid;

async fn db() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db
}

fn eur() -> Currency {
    Currency::parse("eur").unwrap()
}

fn entry(key: &str, lines: Vec<LineSpec>) -> NewEntry {
    NewEntry {
        key: key.to_owned(),
        kind: "test".to_owned(),
        source_id: None,
        pending: false,
        lines,
        effective_at: Utc::now(),
    }
}

fn clearing() -> AccountRef {
    AccountRef::platform(AccountKind::Clearing, eur())
}

fn platform_pending() -> AccountRef {
    AccountRef::platform(AccountKind::Pending, eur())
}

fn seller(id: u128, kind: AccountKind) -> AccountRef {
    AccountRef::seller(Uuid::from_u128(id), kind, eur())
}

#[tokio::test]
async fn a_charge_splits_and_verifies() {
    let db = db().await;
    let s = seller(1, AccountKind::Pending);
    journal::post(
        &db,
        false,
        entry(
            "charge-1",
            vec![
                LineSpec::debit(clearing(), 10_000),
                LineSpec::credit(s, 9_000),
                LineSpec::credit(platform_pending(), 1_000),
            ],
        ),
    )
    .await
    .unwrap();
    let b = journal::balances(&db, false, s).await.unwrap();
    assert_eq!(b.posted(AccountKind::Pending), 9_000);
    assert_eq!(
        journal::balances(&db, false, clearing())
            .await
            .unwrap()
            .posted(AccountKind::Clearing),
        10_000
    );
    // Live mode is another ledger.
    assert_eq!(
        journal::balances(&db, true, s).await.unwrap(),
        Default::default()
    );
    let report = verify(&db).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.entries, report.lines, report.accounts), (1, 3, 3));
}

#[test]
fn unbalanced_and_malformed_entries_are_refused() {
    let usd = Currency::parse("usd").unwrap();
    assert!(matches!(
        check_balanced(&[
            LineSpec::debit(clearing(), 100),
            LineSpec::credit(platform_pending(), 99)
        ]),
        Err(LedgerError::Unbalanced {
            debits: 100,
            credits: 99,
            ..
        })
    ));
    // Balanced in total but not per currency.
    assert!(matches!(
        check_balanced(&[
            LineSpec::debit(clearing(), 100),
            LineSpec::credit(AccountRef::platform(AccountKind::Pending, usd), 100),
        ]),
        Err(LedgerError::Unbalanced { .. })
    ));
    assert!(matches!(
        check_balanced(&[
            LineSpec::debit(clearing(), 0),
            LineSpec::credit(clearing(), 0)
        ]),
        Err(LedgerError::NonPositiveAmount(0))
    ));
    assert!(matches!(
        check_balanced(&[LineSpec::debit(clearing(), 5)]),
        Err(LedgerError::TooFewLines)
    ));
    assert!(matches!(
        check_balanced(&[
            LineSpec::debit(clearing(), i64::MAX),
            LineSpec::debit(clearing(), 1),
            LineSpec::credit(clearing(), 1)
        ]),
        Err(LedgerError::Overflow)
    ));
}

#[tokio::test]
async fn posting_is_idempotent_by_key() {
    let db = db().await;
    let lines = vec![
        LineSpec::debit(clearing(), 500),
        LineSpec::credit(platform_pending(), 500),
    ];
    let first = journal::post(&db, false, entry("k", lines.clone()))
        .await
        .unwrap();
    let again = journal::post(&db, false, entry("k", lines)).await.unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.entry.id, again.entry.id);
    assert_eq!(
        journal::balances(&db, false, clearing())
            .await
            .unwrap()
            .posted_debits,
        500
    );
    let mut other = entry(
        "k",
        vec![
            LineSpec::debit(clearing(), 1),
            LineSpec::credit(platform_pending(), 1),
        ],
    );
    other.kind = "different".to_owned();
    assert!(matches!(
        journal::post(&db, false, other).await,
        Err(LedgerError::KeyConflict)
    ));
    assert!(verify(&db).await.unwrap().is_ok());
}

#[tokio::test]
async fn guards_refuse_overdrafts_and_the_transaction_rolls_back() {
    let db = db().await;
    let platform_available = AccountRef::platform(AccountKind::Available, eur());
    let seller_available = seller(1, AccountKind::Available);
    journal::post(
        &db,
        false,
        entry(
            "fund",
            vec![
                LineSpec::debit(clearing(), 1_000),
                LineSpec::credit(platform_available, 1_000),
            ],
        ),
    )
    .await
    .unwrap();
    let transfer = |key: &str, amount| {
        entry(
            key,
            vec![
                LineSpec::debit(platform_available, amount).guarded(),
                LineSpec::credit(seller_available, amount),
            ],
        )
    };
    let txn = db.begin().await.unwrap();
    let err = journal::post(&txn, false, transfer("t-big", 1_001))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientFunds(a) if a == platform_available));
    txn.rollback().await.unwrap();
    assert!(verify(&db).await.unwrap().is_ok());

    journal::post(&db, false, transfer("t-ok", 1_000))
        .await
        .unwrap();
    assert_eq!(
        journal::balances(&db, false, platform_available)
            .await
            .unwrap()
            .posted(AccountKind::Available),
        0
    );
    assert_eq!(
        journal::balances(&db, false, seller_available)
            .await
            .unwrap()
            .posted(AccountKind::Available),
        1_000
    );
    assert!(verify(&db).await.unwrap().is_ok());
}

#[tokio::test]
async fn two_phase_post_partially_void_and_resolve_once() {
    let db = db().await;
    let s = seller(7, AccountKind::Pending);
    let mut auth = entry(
        "auth",
        vec![
            LineSpec::debit(clearing(), 10_000),
            LineSpec::credit(s, 9_000),
            LineSpec::credit(platform_pending(), 1_000),
        ],
    );
    auth.pending = true;
    let pending = journal::post(&db, false, auth).await.unwrap().entry;
    let b = journal::balances(&db, false, s).await.unwrap();
    assert_eq!(
        (
            b.posted(AccountKind::Pending),
            b.pending(AccountKind::Pending)
        ),
        (0, 9_000)
    );
    assert!(verify(&db).await.unwrap().is_ok());

    // More than authorised is refused.
    let too_much = Resolution::Post(vec![
        LineSpec::debit(clearing(), 10_001),
        LineSpec::credit(s, 10_001),
    ]);
    let err = journal::resolve(
        &db,
        false,
        pending.id,
        "cap".into(),
        "capture".into(),
        too_much,
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::ExceedsPending));

    // Capture 60.00 of 100.00: seller 54, platform 6; the rest is released.
    let capture = Resolution::Post(vec![
        LineSpec::debit(clearing(), 6_000),
        LineSpec::credit(s, 5_400),
        LineSpec::credit(platform_pending(), 600),
    ]);
    let posted = journal::resolve(
        &db,
        false,
        pending.id,
        "cap".into(),
        "capture".into(),
        capture.clone(),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(!posted.replayed);
    let b = journal::balances(&db, false, s).await.unwrap();
    assert_eq!(
        (
            b.posted(AccountKind::Pending),
            b.pending(AccountKind::Pending)
        ),
        (5_400, 0)
    );
    // The same resolution again replays; another one is refused.
    let again = journal::resolve(
        &db,
        false,
        pending.id,
        "cap".into(),
        "capture".into(),
        capture,
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(again.replayed);
    let err = journal::resolve(
        &db,
        false,
        pending.id,
        "void".into(),
        "void".into(),
        Resolution::Void,
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyResolved));
    assert!(verify(&db).await.unwrap().is_ok());

    let mut auth2 = entry(
        "auth2",
        vec![LineSpec::debit(clearing(), 300), LineSpec::credit(s, 300)],
    );
    auth2.pending = true;
    let p2 = journal::post(&db, false, auth2).await.unwrap().entry;
    journal::resolve(
        &db,
        false,
        p2.id,
        "void2".into(),
        "void".into(),
        Resolution::Void,
        Utc::now(),
    )
    .await
    .unwrap();
    let b = journal::balances(&db, false, s).await.unwrap();
    assert_eq!(
        (
            b.posted(AccountKind::Pending),
            b.pending(AccountKind::Pending)
        ),
        (5_400, 0)
    );
    let report = verify(&db).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[tokio::test]
async fn verify_names_what_is_broken() {
    let db = db().await;
    journal::post(
        &db,
        false,
        entry(
            "e1",
            vec![
                LineSpec::debit(clearing(), 700),
                LineSpec::credit(platform_pending(), 700),
            ],
        ),
    )
    .await
    .unwrap();
    // Tamper with a stored balance, as a bug or a hand-edit would.
    db.execute_unprepared(
        "UPDATE ledger_accounts SET posted_credits = posted_credits + 1 WHERE kind = 'pending'",
    )
    .await
    .unwrap();
    let report = verify(&db).await.unwrap();
    assert!(!report.is_ok());
    let all = report.problems.join("\n");
    assert!(
        all.contains("platform.pending.EUR") && all.contains("lines sum to"),
        "{all}"
    );
    assert!(
        all.contains("posted debits 700 ≠ posted credits 701"),
        "{all}"
    );

    // An entry that does not balance.
    db.execute_unprepared("UPDATE journal_lines SET amount_minor = 699 WHERE side = 'credit'")
        .await
        .unwrap();
    let all = verify(&db).await.unwrap().problems.join("\n");
    assert!(
        all.contains("entry 'e1' does not balance in EUR: debits 700, credits 699"),
        "{all}"
    );
}

#[tokio::test]
async fn monthly_volume_sums_posted_lines_of_given_kinds() {
    let db = db().await;
    let s = seller(3, AccountKind::Pending);
    for (i, kind) in ["charge.captured", "charge.captured", "transfer"]
        .iter()
        .enumerate()
    {
        let mut e = entry(
            &format!("v{i}"),
            vec![
                LineSpec::debit(clearing(), 100 * (i as i64 + 1)),
                LineSpec::credit(s, 100 * (i as i64 + 1)),
            ],
        );
        e.kind = (*kind).to_owned();
        journal::post(&db, false, e).await.unwrap();
    }
    let from = Utc::now() - chrono::Duration::days(1);
    let to = Utc::now() + chrono::Duration::days(1);
    let v = journal::posted_volumes(
        &db,
        false,
        &[s].into(),
        agora_ledger::Side::Credit,
        &["charge.captured"],
        from,
        to,
    )
    .await
    .unwrap()[&s];
    assert_eq!(v, 300);
    let none = journal::posted_volumes(
        &db,
        false,
        &[s].into(),
        agora_ledger::Side::Credit,
        &["charge.captured"],
        to,
        to + chrono::Duration::days(1),
    )
    .await
    .unwrap()[&s];
    assert_eq!(none, 0);
}

/// A random operation on a small chart: 3 sellers × 2 currencies plus the platform.
#[derive(Debug, Clone)]
enum Op {
    Charge {
        seller: u8,
        currency: bool,
        amount: i64,
        fee_pct: u8,
        pending: bool,
    },
    Resolve {
        which: usize,
        keep_pct: u8,
        void: bool,
    },
    Transfer {
        seller: u8,
        currency: bool,
        amount: i64,
    },
    Refund {
        seller: u8,
        currency: bool,
        amount: i64,
    },
    Repeat {
        which: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0u8..3,
            any::<bool>(),
            1i64..1_000_000,
            0u8..=100,
            any::<bool>()
        )
            .prop_map(|(seller, currency, amount, fee_pct, pending)| Op::Charge {
                seller,
                currency,
                amount,
                fee_pct,
                pending
            }),
        (0usize..64, 0u8..=100, any::<bool>()).prop_map(|(which, keep_pct, void)| Op::Resolve {
            which,
            keep_pct,
            void
        }),
        (0u8..3, any::<bool>(), 1i64..500_000).prop_map(|(seller, currency, amount)| {
            Op::Transfer {
                seller,
                currency,
                amount,
            }
        }),
        (0u8..3, any::<bool>(), 1i64..500_000).prop_map(|(seller, currency, amount)| Op::Refund {
            seller,
            currency,
            amount
        }),
        (0usize..64).prop_map(|which| Op::Repeat { which }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let db = db().await;
            let currencies = [Currency::parse("eur").unwrap(), Currency::parse("jpy").unwrap()];
            // The model: expected posted balance (normal side) per account.
            let mut model: BTreeMap<AccountRef, i64> = BTreeMap::new();
            let mut posted: Vec<NewEntry> = Vec::new();
            let mut pendings: Vec<(Uuid, Vec<LineSpec>)> = Vec::new();
            for (i, op) in ops.into_iter().enumerate() {
                let key = format!("op-{i}");
                match op {
                    Op::Charge { seller: s, currency, amount, fee_pct, pending } => {
                        let cur = currencies[usize::from(currency)];
                        let fee = amount * i64::from(fee_pct) / 100;
                        let mut lines = vec![LineSpec::debit(AccountRef::platform(AccountKind::Clearing, cur), amount)];
                        if amount - fee > 0 {
                            lines.push(LineSpec::credit(AccountRef::seller(Uuid::from_u128(u128::from(s) + 1), AccountKind::Available, cur), amount - fee));
                        }
                        if fee > 0 {
                            lines.push(LineSpec::credit(AccountRef::platform(AccountKind::Available, cur), fee));
                        }
                        let mut e = entry(&key, lines.clone());
                        e.pending = pending;
                        let result = journal::post(&db, false, e.clone()).await.unwrap();
                        if pending {
                            pendings.push((result.entry.id, lines));
                        } else {
                            for l in &lines { apply(&mut model, l); }
                            posted.push(e);
                        }
                    }
                    Op::Resolve { which, keep_pct, void } => {
                        if pendings.is_empty() { continue; }
                        let (id, lines) = pendings.remove(which % pendings.len());
                        let resolution = if void {
                            Resolution::Void
                        } else {
                            // Keep a share of each credit; the debit is their sum, so it balances.
                            let mut kept: Vec<LineSpec> = lines.iter().skip(1)
                                .map(|l| LineSpec::credit(l.account, l.amount_minor * i64::from(keep_pct) / 100))
                                .filter(|l| l.amount_minor > 0)
                                .collect();
                            let total: i64 = kept.iter().map(|l| l.amount_minor).sum();
                            if total == 0 {
                                Resolution::Void
                            } else {
                                kept.insert(0, LineSpec::debit(lines[0].account, total));
                                Resolution::Post(kept)
                            }
                        };
                        if let Resolution::Post(ls) = &resolution { for l in ls { apply(&mut model, l); } }
                        journal::resolve(&db, false, id, key, "resolve".into(), resolution, Utc::now()).await.unwrap();
                    }
                    Op::Transfer { seller: s, currency, amount } => {
                        let cur = currencies[usize::from(currency)];
                        let from = AccountRef::platform(AccountKind::Available, cur);
                        let to = AccountRef::seller(Uuid::from_u128(u128::from(s) + 1), AccountKind::Available, cur);
                        let lines = vec![LineSpec::debit(from, amount).guarded(), LineSpec::credit(to, amount)];
                        let txn = db.begin().await.unwrap();
                        match journal::post(&txn, false, entry(&key, lines.clone())).await {
                            Ok(_) => {
                                txn.commit().await.unwrap();
                                for l in &lines { apply(&mut model, l); }
                                assert!(model[&from] >= 0, "a guarded transfer overdrew the platform");
                            }
                            Err(LedgerError::InsufficientFunds(_)) => {
                                txn.rollback().await.unwrap();
                                assert!(model.get(&from).copied().unwrap_or(0) < amount, "refused a transfer that was covered");
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    Op::Refund { seller: s, currency, amount } => {
                        // Unguarded: a refund may take a seller below zero.
                        let cur = currencies[usize::from(currency)];
                        let lines = vec![
                            LineSpec::debit(AccountRef::seller(Uuid::from_u128(u128::from(s) + 1), AccountKind::Available, cur), amount),
                            LineSpec::credit(AccountRef::platform(AccountKind::Clearing, cur), amount),
                        ];
                        journal::post(&db, false, entry(&key, lines.clone())).await.unwrap();
                        for l in &lines { apply(&mut model, l); }
                    }
                    Op::Repeat { which } => {
                        if posted.is_empty() { continue; }
                        let again = posted[which % posted.len()].clone();
                        let r = journal::post(&db, false, again).await.unwrap();
                        assert!(r.replayed, "a repeated key posted twice");
                    }
                }
            }
            let report = verify(&db).await.unwrap();
            assert!(report.is_ok(), "{:?}", report.problems);
            for (account, expected) in &model {
                let b = journal::balances(&db, false, *account).await.unwrap();
                assert_eq!(b.posted(account.kind), *expected, "{account}");
            }
        });
    }
}

fn apply(model: &mut BTreeMap<AccountRef, i64>, l: &LineSpec) {
    let sign = match (l.side, l.account.kind.credit_normal()) {
        (agora_ledger::Side::Credit, true) | (agora_ledger::Side::Debit, false) => 1,
        _ => -1,
    };
    *model.entry(l.account).or_default() += sign * l.amount_minor;
}

/// The once-only rule of a pending entry rests on a unique index; if that index were lost
/// (a bad migration, a hand-made schema), a second resolution must stop the process before it
/// releases the same pending amounts again, not write quietly.
#[tokio::test]
#[should_panic(expected = "resolutions")]
async fn a_second_resolution_without_the_unique_index_is_stopped_by_an_assertion() {
    let db = db().await;
    db.execute_unprepared("DROP INDEX ux_journal_entries_pending_id")
        .await
        .unwrap();
    let s = seller(1, AccountKind::Pending);
    let lines = vec![LineSpec::debit(clearing(), 100), LineSpec::credit(s, 100)];
    let mut pending = entry("auth", lines.clone());
    pending.pending = true;
    let posted = journal::post(&db, false, pending).await.unwrap();
    for key in ["capture-1", "capture-2"] {
        journal::resolve(
            &db,
            false,
            posted.entry.id,
            key.to_owned(),
            "capture".to_owned(),
            Resolution::Post(lines.clone()),
            Utc::now(),
        )
        .await
        .unwrap();
    }
}

/// The entries of a small sale day: captures and authorisations over shared platform
/// accounts and a few sellers.
fn sale_day() -> Vec<NewEntry> {
    let mut entries = Vec::new();
    for i in 0..30u128 {
        let s = seller(i % 4 + 1, AccountKind::Pending);
        let amount = 1_000 + i as i64;
        let mut e = entry(
            &format!("sale-{i}"),
            vec![
                LineSpec::debit(clearing(), amount),
                LineSpec::credit(s, amount - 100),
                LineSpec::credit(platform_pending(), 100),
            ],
        );
        e.pending = i % 5 == 0;
        entries.push(e);
    }
    entries
}

#[tokio::test]
async fn a_batch_moves_balances_exactly_as_posting_one_by_one() {
    use agora_ledger::batch::{AccountIds, Batch, SharedAccountIds};
    let one_by_one = db().await;
    for e in sale_day() {
        journal::post(&one_by_one, false, e).await.unwrap();
    }
    let batched = db().await;
    let ids = SharedAccountIds::new(AccountIds::new());
    let txn = batched.begin().await.unwrap();
    let mut batch = Batch::new(false);
    for e in sale_day() {
        batch.add(Uuid::now_v7(), e).unwrap();
    }
    let moves = batch.write(&txn, &ids, Utc::now()).await.unwrap();
    moves.apply(&txn).await.unwrap();
    txn.commit().await.unwrap();
    let mut accounts = vec![clearing(), platform_pending()];
    accounts.extend((1..=4).map(|i| seller(i, AccountKind::Pending)));
    for account in accounts {
        assert_eq!(
            journal::balances(&batched, false, account).await.unwrap(),
            journal::balances(&one_by_one, false, account)
                .await
                .unwrap(),
            "{account}"
        );
    }
    let report = verify(&batched).await.unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn a_refused_entry_leaves_its_batch_as_it_was() {
    use agora_ledger::batch::{AccountIds, Batch, SharedAccountIds};
    let db = db().await;
    let mut batch = Batch::new(false);
    let good = entry(
        "good",
        vec![
            LineSpec::debit(clearing(), 500),
            LineSpec::credit(platform_pending(), 500),
        ],
    );
    batch.add(Uuid::now_v7(), good.clone()).unwrap();
    let unbalanced = entry(
        "unbalanced",
        vec![
            LineSpec::debit(clearing(), 500),
            LineSpec::credit(platform_pending(), 499),
        ],
    );
    assert!(matches!(
        batch.add(Uuid::now_v7(), unbalanced),
        Err(LedgerError::Unbalanced { .. })
    ));
    let guarded = entry(
        "guarded",
        vec![
            LineSpec::debit(seller(1, AccountKind::Available), 10).guarded(),
            LineSpec::credit(platform_pending(), 10),
        ],
    );
    assert!(matches!(
        batch.add(Uuid::now_v7(), guarded),
        Err(LedgerError::GuardedInBatch)
    ));
    assert!(matches!(
        batch.add(Uuid::now_v7(), good),
        Err(LedgerError::KeyConflict)
    ));
    let overflow = entry(
        "overflow",
        vec![
            LineSpec::debit(clearing(), i64::MAX),
            LineSpec::credit(platform_pending(), i64::MAX),
        ],
    );
    assert!(matches!(
        batch.add(Uuid::now_v7(), overflow),
        Err(LedgerError::Overflow)
    ));
    let ids = SharedAccountIds::new(AccountIds::new());
    let txn = db.begin().await.unwrap();
    batch
        .write(&txn, &ids, Utc::now())
        .await
        .unwrap()
        .apply(&txn)
        .await
        .unwrap();
    txn.commit().await.unwrap();
    // Only the good entry moved anything, once.
    let b = journal::balances(&db, false, clearing()).await.unwrap();
    assert_eq!(b.posted_debits, 500);
    assert_eq!(
        journal::balances(&db, false, seller(1, AccountKind::Available))
            .await
            .unwrap(),
        Default::default()
    );
    assert!(verify(&db).await.unwrap().is_ok());
}
