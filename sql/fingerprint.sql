-- Identity of a training table's content, independent of row order: each row's hash
-- (sql/row_hashes.sql: every column and the feature version) is XORed with the others'
-- (rows are unique by shortcode, so none cancel), and sha256 is taken over the row count
-- and that XOR. No sort of the whole table is needed.
WITH r AS (
    SELECT
        t.owner_username,
        md5(concat($feature_version::VARCHAR, '|', CAST(t AS VARCHAR))) AS h
    FROM training AS t
),
x AS (
    SELECT
        count(*) AS n,
        count(DISTINCT owner_username) AS accounts,
        coalesce(bit_xor(('0x' || h[1:16])::UBIGINT), 0) AS hi,
        coalesce(bit_xor(('0x' || h[17:32])::UBIGINT), 0) AS lo
    FROM r
)
SELECT
    n AS rows,
    accounts,
    sha256(concat_ws(':', n, lpad(printf('%x', hi), 16, '0'), lpad(printf('%x', lo), 16, '0')))
        AS fingerprint
FROM x
