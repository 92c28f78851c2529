-- Split by time: the newest $test_fraction of kept posts (by taken_at) is test, the
-- $val_fraction before it val, the rest train. Cutoffs are inclusive on the newer side, so
-- every test post is strictly newer than every train and val post.
WITH k AS (
    SELECT shortcode, taken_at
    FROM labelled
    WHERE reason IS NULL
),
cut AS (
    SELECT
        quantile_disc(taken_at, 1 - $test_fraction) AS test_from,
        quantile_disc(taken_at, greatest(1 - $test_fraction - $val_fraction, 0)) AS val_from
    FROM k
)
SELECT
    k.shortcode,
    CASE
        WHEN $test_fraction > 0 AND k.taken_at >= cut.test_from THEN 'test'
        WHEN $val_fraction > 0 AND k.taken_at >= cut.val_from THEN 'val'
        ELSE 'train'
    END AS split
FROM k, cut
