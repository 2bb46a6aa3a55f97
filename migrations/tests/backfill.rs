//! Migration 000011 fills `charge_destinations` from the splits of charges written before it,
//! on SQLite and, when `AGORA_TEST_DATABASE_URL` names a server, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use agora_migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::json;
use uuid::Uuid;

async fn insert_charge(
    db: &DatabaseConnection,
    id: Uuid,
    livemode: bool,
    splits: serde_json::Value,
) {
    let now = chrono::Utc::now();
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new("charges"))
        .columns(
            [
                "id",
                "livemode",
                "amount",
                "currency",
                "status",
                "captured",
                "amount_captured",
                "amount_refunded",
                "application_fee_amount",
                "splits",
                "payment_method",
                "metadata",
                "settled",
                "disputed",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            id.into(),
            livemode.into(),
            10_000i64.into(),
            "eur".into(),
            "succeeded".into(),
            true.into(),
            10_000i64.into(),
            0i64.into(),
            0i64.into(),
            splits.into(),
            "pm_card_visa".into(),
            json!({}).into(),
            false.into(),
            false.into(),
            now.into(),
        ]);
    db.execute(db.get_database_backend().build(&insert))
        .await
        .unwrap();
}

async fn destinations(db: &DatabaseConnection, charge: Uuid) -> Vec<(Uuid, bool)> {
    let select = Query::select()
        .columns([Alias::new("account_id"), Alias::new("livemode")])
        .from(Alias::new("charge_destinations"))
        .and_where(Expr::col(Alias::new("charge_id")).eq(charge))
        .to_owned();
    let rows = db
        .query_all(db.get_database_backend().build(&select))
        .await
        .unwrap();
    let mut out: Vec<(Uuid, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "account_id").unwrap(),
                r.try_get("", "livemode").unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn check(db: &DatabaseConnection) {
    // Everything before 000011, then charges as the code wrote them then.
    Migrator::up(db, Some(10)).await.unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let single = Uuid::now_v7();
    let cart = Uuid::now_v7();
    insert_charge(
        db,
        single,
        false,
        json!([{"destination": a, "amount": 10000, "application_fee_amount": 0}]),
    )
    .await;
    // A cart with a seller twice, in live mode.
    insert_charge(
        db,
        cart,
        true,
        json!([
            {"destination": a, "amount": 4000, "application_fee_amount": 0},
            {"destination": b, "amount": 5000, "application_fee_amount": 0},
            {"destination": a, "amount": 1000, "application_fee_amount": 0}
        ]),
    )
    .await;
    Migrator::up(db, None).await.unwrap();
    assert_eq!(destinations(db, single).await, vec![(a, false)]);
    let mut want = vec![(a, true), (b, true)];
    want.sort();
    assert_eq!(destinations(db, cart).await, want);
}

#[tokio::test]
async fn charges_before_the_migration_get_their_destinations_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let db = Database::connect(url).await.unwrap();
    check(&db).await;
}

#[tokio::test]
async fn charges_before_the_migration_get_their_destinations_on_postgres() {
    let Ok(admin_url) = std::env::var("AGORA_TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: AGORA_TEST_DATABASE_URL is not set");
        return;
    };
    let admin = Database::connect(&admin_url).await.unwrap();
    let name = format!("agora_test_migration_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(b, _)| b);
    let db = Database::connect(format!("{base}/{name}")).await.unwrap();
    check(&db).await;
    db.close().await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
}
