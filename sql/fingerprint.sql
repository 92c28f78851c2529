-- Identity of a training table's content, independent of row order: each row's image,
-- likes, followers, labels and split are hashed (md5), the 128-bit hashes are XORed
-- together (rows are unique by shortcode, so none cancel), and sha256 is taken over the
-- row count and that XOR. Only integers and text go in, so the value does not depend on
-- how floats print, and no sort of the whole table is needed.
WITH r AS (
    SELECT
        owner_username,
        md5(concat_ws('|', shortcode, sha256, likes, followers, label, label_rel, split)) AS h
    FROM training
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
