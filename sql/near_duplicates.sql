-- Images on two sides of the split: the same file (sha256) or a near-identical one
-- (perceptual hash within $max_distance bits). The row on the more "trainy" side is
-- dropped (test beats val beats train), so held-out sides stay intact.
-- Near pairs are found by banding, exactly: the 64 bits are cut into $max_distance + 2
-- bands; two hashes within $max_distance bits differ in at most that many bands, so at
-- least two bands agree exactly (pigeonhole). Joining on every pair of bands (15 keys of
-- ~21 bits an image for 4 bits) compares only hashes that share one, about a hundred times
-- fewer candidates than one band at a time on a million images.
-- MATERIALIZED: the ids must be the same in every reference below.
WITH r AS MATERIALIZED (
    SELECT
        row_number() OVER () AS id,
        a.shortcode,
        c.owner_username,
        c.sha256,
        c.phash_int,
        CASE a.split WHEN 'test' THEN 2 WHEN 'val' THEN 1 ELSE 0 END AS rk
    FROM assignment AS a
    JOIN checked AS c ON c.shortcode = a.shortcode AND c.reason IS NULL
),
exact AS (
    SELECT DISTINCT lo.id
    FROM r AS lo
    JOIN r AS hi ON hi.sha256 = lo.sha256 AND hi.rk > lo.rk
),
-- Band b covers bits [start, start + width); widths differ by at most one bit.
bands AS (
    SELECT
        b.band,
        b.band * (64 // ($max_distance::BIGINT + 2))
            + least(b.band, 64 % ($max_distance::BIGINT + 2)) AS start,
        64 // ($max_distance::BIGINT + 2)
            + (b.band < 64 % ($max_distance::BIGINT + 2))::BIGINT AS width
    FROM range(0, $max_distance::BIGINT + 2) AS b(band)
),
combos AS (
    SELECT
        b1.band * 64 + b2.band AS combo,
        b1.start AS start1,
        b1.width AS width1,
        b2.start AS start2,
        b2.width AS width2
    FROM bands AS b1
    JOIN bands AS b2 ON b2.band > b1.band
),
keys AS (
    SELECT
        id,
        rk,
        phash_int,
        -- One integer key per (band pair, values): a hash collision only adds a candidate,
        -- which the bit count below rejects, so no near pair is missed.
        hash(combo, v1, v2) AS k
    FROM (
        SELECT
            r.id,
            r.rk,
            r.phash_int,
            c.combo,
            (r.phash_int >> c.start1) & ((1::BIGINT << c.width1) - 1) AS v1,
            -- The second band can be the last: an arithmetic shift keeps all its bits.
            CASE
                WHEN c.start2 + c.width2 >= 64 THEN r.phash_int >> c.start2
                ELSE (r.phash_int >> c.start2) & ((1::BIGINT << c.width2) - 1)
            END AS v2
        FROM r
        CROSS JOIN combos AS c
        WHERE r.phash_int IS NOT NULL
    )
),
near AS (
    SELECT DISTINCT lo.id
    FROM (SELECT * FROM keys WHERE rk = 0) AS lo
    JOIN (SELECT * FROM keys WHERE rk > 0) AS hi
        ON hi.k = lo.k
    WHERE bit_count(xor(lo.phash_int, hi.phash_int)) <= $max_distance
    UNION
    SELECT DISTINCT lo.id
    FROM (SELECT * FROM keys WHERE rk = 1) AS lo
    JOIN (SELECT * FROM keys WHERE rk = 2) AS hi
        ON hi.k = lo.k
    WHERE bit_count(xor(lo.phash_int, hi.phash_int)) <= $max_distance
)
SELECT
    r.shortcode,
    r.owner_username,
    CASE
        WHEN r.id IN (SELECT id FROM exact) THEN 'same_image_across_splits'
        ELSE 'near_duplicate_across_splits'
    END AS reason
FROM r
WHERE r.id IN (SELECT id FROM exact) OR r.id IN (SELECT id FROM near)
