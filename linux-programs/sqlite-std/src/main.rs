//! SQLite as an unmodified static Linux program: the C amalgamation
//! (rusqlite's `bundled` feature, compiled with musl-gcc) under an
//! ordinary Rust `fn main`. `cargo xtask test sqlite` boots it on an ext2
//! `--disk` at `/data` (twice: the data must persist) and in `/tmp`, and
//! runs it on the host's Linux to compare the output line by line
//! (`xtask/src/testing/sqlite.rs`).
//!
//! Usage: `linux-sqlite-std DIR [MODE]`, MODE one of
//! - `write`: makes `DIR/shop.db` in rollback-journal mode: two tables,
//!   10 000 rows in one transaction and a few in their own, a rolled-back
//!   transaction, joins and aggregates checked against the same figures
//!   computed in Rust; two connections from two threads contending for the
//!   write lock (`SQLITE_BUSY` without a busy timeout, a wait with one);
//!   then `DIR/wal.db` in WAL mode (with `locking_mode=EXCLUSIVE`: see
//!   [`wal`]);
//! - `check` (the next boot): opens `DIR/shop.db` again and checks what
//!   `write` left;
//! - `all` (the default): `write` then `check`.
//!
//! Every line is a fact that holds on any Linux host, in sections as the
//! differential tests read them (`@@ section NAME` ... `@@ end`); a failed
//! check panics (exit status 101) naming what differed. The last lines are
//! `sqlite-std: MODE ok` and `@@ end`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior, params};

/// Customers in the database.
const CUSTOMERS: i64 = 100;
/// Orders inserted in one transaction.
const BULK_ORDERS: i64 = 10_000;
/// Orders inserted one by one, each its own transaction.
const SINGLE_ORDERS: i64 = 20;
/// Cities the customers live in.
const CITIES: [&str; 7] = ["Aarhus", "Bergen", "Cork", "Delft", "Espoo", "Fribourg", "Graz"];

/// Customer `id`'s city.
fn city_of(id: i64) -> &'static str {
    CITIES[(id * 3 % CITIES.len() as i64) as usize]
}

/// Order `id`: (customer, amount in cents).
fn order(id: i64) -> (i64, i64) {
    (id * 37 % CUSTOMERS + 1, id * 7919 % 10_007)
}

/// Every order id `write` inserts.
fn order_ids() -> impl Iterator<Item = i64> {
    1..=BULK_ORDERS + SINGLE_ORDERS
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, mode) = match args.as_slice() {
        [_, dir] => (PathBuf::from(dir), "all"),
        [_, dir, mode] => (PathBuf::from(dir), mode.as_str()),
        _ => {
            eprintln!("usage: linux-sqlite-std DIR [write|check|all]");
            std::process::exit(2);
        }
    };
    section("version");
    println!("sqlite {}", rusqlite::version());
    match mode {
        "write" => write(&dir),
        "check" => check(&dir),
        "all" => {
            write(&dir);
            check(&dir);
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
    println!("sqlite-std: {mode} ok");
    println!("@@ end");
}

/// Starts a compared section of the output.
fn section(name: &str) {
    println!("@@ section {name}");
}

/// Whether `path` exists.
fn exists(path: &Path) -> &'static str {
    if path.exists() { "present" } else { "absent" }
}

/// `path` with `suffix` appended (SQLite's `-journal`, `-wal`, `-shm`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn write(dir: &Path) {
    std::fs::create_dir_all(dir).expect("make the folder");
    let db = dir.join("shop.db");
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    let journal = with_suffix(&db, "-journal");
    section("rollback-journal");
    let mut conn = Connection::open(&db).expect("open the database");
    let mode: String = conn.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0)).unwrap();
    println!("journal_mode: {mode}");
    conn.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL REFERENCES customers(id),
                              amount INTEGER NOT NULL);
         CREATE INDEX orders_by_customer ON orders(customer);",
    )
    .expect("create the tables");

    // The bulk: one transaction.
    let tx = conn.transaction().unwrap();
    {
        let mut c = tx.prepare("INSERT INTO customers VALUES (?1, ?2, ?3)").unwrap();
        for id in 1..=CUSTOMERS {
            c.execute(params![id, format!("customer {id}"), city_of(id)]).unwrap();
        }
        let mut o = tx.prepare("INSERT INTO orders VALUES (?1, ?2, ?3)").unwrap();
        for id in 1..=BULK_ORDERS {
            let (customer, amount) = order(id);
            o.execute(params![id, customer, amount]).unwrap();
        }
    }
    println!("journal during the bulk transaction: {}", exists(&journal));
    tx.commit().unwrap();
    println!("journal after its commit: {}", exists(&journal));
    println!("inserted {CUSTOMERS} customers and {BULK_ORDERS} orders in one transaction");

    // One by one: each statement its own transaction (journal made and removed).
    for id in BULK_ORDERS + 1..=BULK_ORDERS + SINGLE_ORDERS {
        let (customer, amount) = order(id);
        conn.execute("INSERT INTO orders VALUES (?1, ?2, ?3)", params![id, customer, amount]).unwrap();
    }
    println!("inserted {SINGLE_ORDERS} orders one by one; journal after: {}", exists(&journal));

    // A transaction rolled back leaves nothing.
    {
        let tx = conn.transaction().unwrap();
        let gone = tx.execute("DELETE FROM orders WHERE amount < 5000", []).unwrap();
        println!("deleted {gone} orders in a transaction, then rolled back");
        tx.rollback().unwrap();
    }
    check_figures(&conn, "queries");
    contend(&db);
    drop(conn);
    wal(dir);
}

/// Counts, sums and a join with its aggregates, each compared with the
/// same figure computed here (output section `name`).
fn check_figures(conn: &Connection, name: &str) {
    section(name);
    let count: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
    let sum: i64 = conn.query_row("SELECT sum(amount) FROM orders", [], |r| r.get(0)).unwrap();
    let want_sum: i64 = order_ids().map(|id| order(id).1).sum();
    assert_eq!((count, sum), (BULK_ORDERS + SINGLE_ORDERS, want_sum), "count and sum of the orders");
    println!("orders: {count}, total amount {sum}");

    // Per city: orders, total, largest order (a join and GROUP BY).
    let mut stmt = conn
        .prepare(
            "SELECT c.city, count(*), sum(o.amount), max(o.amount)
             FROM orders o JOIN customers c ON c.id = o.customer
             GROUP BY c.city ORDER BY sum(o.amount) DESC, c.city",
        )
        .unwrap();
    let rows: Vec<(String, i64, i64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    let mut want: Vec<(String, i64, i64, i64)> = CITIES
        .iter()
        .map(|&city| {
            let amounts: Vec<i64> =
                order_ids().map(order).filter(|&(c, _)| city_of(c) == city).map(|(_, a)| a).collect();
            (city.to_string(), amounts.len() as i64, amounts.iter().sum(), amounts.iter().copied().max().unwrap_or(0))
        })
        .collect();
    want.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    assert_eq!(rows, want, "orders per city");
    for (city, n, total, max) in &rows {
        println!("  {city}: {n} orders, total {total}, largest {max}");
    }

    // A subquery: customers whose total is above the average customer's.
    let above: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT customer, sum(amount) AS t FROM orders GROUP BY customer)
             WHERE t > (SELECT avg(t) FROM (SELECT sum(amount) AS t FROM orders GROUP BY customer))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut totals = vec![0i64; CUSTOMERS as usize + 1];
    for (c, a) in order_ids().map(order) {
        totals[c as usize] += a;
    }
    let avg = totals[1..].iter().sum::<i64>() as f64 / CUSTOMERS as f64;
    let want_above = totals[1..].iter().filter(|&&t| t as f64 > avg).count() as i64;
    assert_eq!(above, want_above, "customers above the average");
    println!("customers above the average total: {above}");
}

/// Two connections to one database from two threads: while one holds the
/// write lock, the other's write is refused at once (`SQLITE_BUSY`, no
/// busy timeout) and waits with one until the first commits; a reader
/// meanwhile sees the last committed state.
fn contend(db: &Path) {
    section("two-connections");
    let first = Connection::open(db).unwrap();
    let (held_tx, held_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let db2 = db.to_path_buf();
    let second = thread::spawn(move || {
        let mut conn = Connection::open(&db2).unwrap();
        conn.busy_timeout(Duration::ZERO).unwrap();
        held_rx.recv().unwrap();
        let refused = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => "SQLITE_BUSY".to_string(),
            Err(e) => format!("error {e}"),
            Ok(_) => "allowed".to_string(),
        };
        let seen: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
        // Now wait for the lock (the first commits after `go`).
        conn.busy_timeout(Duration::from_secs(30)).unwrap();
        go_tx.send(()).unwrap();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("the lock after the commit");
        tx.execute("DELETE FROM orders WHERE id = ?1", [BULK_ORDERS + SINGLE_ORDERS + 1]).unwrap();
        tx.commit().unwrap();
        (refused, seen)
    });
    first.execute_batch("BEGIN IMMEDIATE").unwrap();
    first.execute("INSERT INTO orders VALUES (?1, 1, 1)", [BULK_ORDERS + SINGLE_ORDERS + 1]).unwrap();
    held_tx.send(()).unwrap();
    go_rx.recv().unwrap();
    // Give the second connection time to start waiting for the lock.
    thread::sleep(Duration::from_millis(200));
    first.execute_batch("COMMIT").unwrap();
    let (refused, seen) = second.join().unwrap();
    println!("second writer while the first holds the lock: {refused}");
    println!("a reader meanwhile sees {seen} orders");
    let count: i64 = first.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
    println!("second writer after the first commits: done; orders now {count}");
    assert_eq!(count, BULK_ORDERS + SINGLE_ORDERS);
}

/// WAL mode. SQLite's wal-index lives in the `-shm` file mapped
/// `MAP_SHARED` and writable, which this kernel does not offer (`mmap`
/// answers `ENODEV`); with `locking_mode=EXCLUSIVE` set first, SQLite keeps
/// the wal-index in its heap instead and makes no `-shm` file (one
/// connection at a time, which is what exclusive mode means anyway).
fn wal(dir: &Path) {
    section("wal");
    let db = dir.join("wal.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&db, suffix));
    }
    let mut conn = Connection::open(&db).unwrap();
    let locking: String = conn.query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0)).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
    println!("wal.db: locking_mode {locking}, journal_mode {mode}");
    conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").unwrap();
    let tx = conn.transaction().unwrap();
    for k in 0..1000 {
        tx.execute("INSERT INTO t VALUES (?1, ?2)", params![k, format!("value {}", k * k)]).unwrap();
    }
    tx.commit().unwrap();
    println!(
        "wal.db: 1000 rows; -wal {}, -shm {}",
        exists(&with_suffix(&db, "-wal")),
        exists(&with_suffix(&db, "-shm"))
    );
    // Another connection cannot read an exclusively locked database.
    let other = Connection::open(&db).unwrap();
    let refused = match other.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)) {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::DatabaseBusy => "SQLITE_BUSY".to_string(),
        Err(e) => format!("error {e}"),
        Ok(n) => format!("read {n} rows"),
    };
    println!("wal.db: a second connection: {refused}");
    drop(other);
    let (busy, log, done): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
    println!("wal.db: checkpoint busy={busy} log={log} checkpointed={done}");
    let total: i64 = conn.query_row("SELECT sum(length(v)) FROM t", [], |r| r.get(0)).unwrap();
    let want: usize = (0..1000i64).map(|k| format!("value {}", k * k).len()).sum();
    assert_eq!(total, want as i64, "the WAL rows");
    println!("wal.db: sum of lengths {total}");
    drop(conn);
    println!("wal.db: after close -wal {}", exists(&with_suffix(&db, "-wal")));
}

fn check(dir: &Path) {
    section("reopened");
    let db = dir.join("shop.db");
    println!("shop.db: {}", exists(&db));
    let conn = Connection::open(&db).expect("open the database");
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok", "integrity_check");
    println!("integrity_check: {ok}");
    check_figures(&conn, "reopened-queries");
}
