-- Split by account: no account on two sides. Accounts are ordered by md5 of seed and name
-- (stable across DuckDB versions, unlike hash()); the first round(n * $test_fraction) go to
-- test, the next round(n * $val_fraction) to val, the rest to train. Counting accounts
-- instead of thresholding each hash keeps a small lake (six accounts) from ending up with
-- an empty test side: test gets at least one account, val one when there are three.
WITH accounts AS (
    SELECT
        owner_username,
        md5(concat($seed::VARCHAR, ':', owner_username)) AS h
    FROM labelled
    WHERE reason IS NULL
    GROUP BY owner_username
),
ranked AS (
    SELECT
        owner_username,
        row_number() OVER (ORDER BY h, owner_username) AS rn,
        count(*) OVER () AS n
    FROM accounts
),
sized AS (
    SELECT
        *,
        least(
            n - 1,
            CASE WHEN $test_fraction > 0 THEN greatest(1, round(n * $test_fraction)) ELSE 0 END
        ) AS n_test_raw
    FROM ranked
),
sized2 AS (
    SELECT
        *,
        greatest(n_test_raw, 0) AS n_test,
        greatest(
            least(
                n - 1 - greatest(n_test_raw, 0),
                CASE
                    WHEN n >= 3 AND $val_fraction > 0 THEN greatest(1, round(n * $val_fraction))
                    ELSE 0
                END
            ),
            0
        ) AS n_val
    FROM sized
)
SELECT
    l.shortcode,
    CASE
        WHEN a.rn <= a.n_test THEN 'test'
        WHEN a.rn <= a.n_test + a.n_val THEN 'val'
        ELSE 'train'
    END AS split
FROM labelled AS l
JOIN sized2 AS a ON a.owner_username = l.owner_username
WHERE l.reason IS NULL
