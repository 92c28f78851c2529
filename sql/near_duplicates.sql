-- Posts on two sides of the split that show the same photo (the links of
-- sql/photo_links.sql: the same file, or perceptual hashes within $max_distance bits). The
-- post on the more "trainy" side is dropped (test beats val beats train), so held-out sides
-- stay intact. The account split never places a link across sides, so this finds nothing
-- there; it guards the time split, whose cut-off can fall between two copies of a photo.
WITH side AS (
    SELECT
        a.shortcode,
        c.owner_username,
        CASE a.split WHEN 'test' THEN 2 WHEN 'val' THEN 1 ELSE 0 END AS rk
    FROM assignment AS a
    JOIN checked AS c ON c.shortcode = a.shortcode AND c.reason IS NULL
),
crossing AS (
    SELECT
        CASE WHEN sa.rk < sb.rk THEN sa.shortcode ELSE sb.shortcode END AS shortcode,
        CASE WHEN sa.rk < sb.rk THEN sa.owner_username ELSE sb.owner_username END
            AS owner_username,
        l.same_file
    FROM links AS l
    JOIN side AS sa ON sa.shortcode = l.shortcode_a
    JOIN side AS sb ON sb.shortcode = l.shortcode_b
    WHERE sa.rk <> sb.rk
)
SELECT
    shortcode,
    owner_username,
    CASE
        WHEN bool_or(same_file) THEN 'same_image_across_splits'
        ELSE 'near_duplicate_across_splits'
    END AS reason
FROM crossing
GROUP BY shortcode, owner_username
