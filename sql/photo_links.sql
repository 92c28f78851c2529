-- Links between usable posts that show the same photo: the same file (sha256) or a
-- near-identical one (perceptual hashes within $max_distance bits). The split puts both
-- posts of a link on one side, whatever their accounts.
-- Near pairs are found by banding, exactly, as in near_duplicates.sql: the 64 bits are cut
-- into $max_distance + 2 bands; two hashes within $max_distance bits agree exactly on at
-- least two bands (pigeonhole), so joining on every pair of bands misses no near pair.
WITH r AS MATERIALIZED (
    SELECT
        row_number() OVER (ORDER BY l.shortcode) AS id,
        l.shortcode,
        c.sha256,
        c.phash_int
    FROM labelled AS l
    JOIN checked AS c ON c.shortcode = l.shortcode
    WHERE l.reason IS NULL AND c.reason IS NULL
),
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
        r.id,
        r.phash_int,
        hash(
            c.combo,
            (r.phash_int >> c.start1) & ((1::BIGINT << c.width1) - 1),
            CASE
                WHEN c.start2 + c.width2 >= 64 THEN r.phash_int >> c.start2
                ELSE (r.phash_int >> c.start2) & ((1::BIGINT << c.width2) - 1)
            END
        ) AS k
    FROM r
    CROSS JOIN combos AS c
    WHERE r.phash_int IS NOT NULL
),
links AS (
    SELECT DISTINCT a.id AS id_a, b.id AS id_b
    FROM keys AS a
    JOIN keys AS b ON b.k = a.k AND b.id > a.id
    WHERE bit_count(xor(a.phash_int, b.phash_int)) <= $max_distance
    UNION
    SELECT a.id, b.id
    FROM r AS a
    JOIN r AS b ON b.sha256 = a.sha256 AND b.id > a.id
)
SELECT
    ra.shortcode AS shortcode_a,
    rb.shortcode AS shortcode_b,
    ra.sha256 = rb.sha256 AS same_file
FROM links
JOIN r AS ra ON ra.id = links.id_a
JOIN r AS rb ON rb.id = links.id_b
ORDER BY shortcode_a, shortcode_b
