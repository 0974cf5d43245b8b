-- The demo database: a products table with 10,000 rows. Loaded by scripts/run.sh on first run.
CREATE TABLE IF NOT EXISTS products (
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL,
  price   DECIMAL(10,2) NOT NULL,
  stock   INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1
);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT OR IGNORE INTO products (id, name, price, stock, version)
SELECT i, 'Product ' || i, printf('%.2f', 1 + (i * 37 % 10000) / 100.0), i * 7 % 100, 1 FROM n;
