-- Row-level data checks and exclusions over the lake: one row per post row, with the
-- first reason that excludes it (NULL when it is kept so far). Reasons are ordered from
-- "the row is broken" to "the row is fine but not usable here", so each excluded post is
-- counted once, under its most basic problem.
-- Inputs: posts, media (path, sha256, decodable), image_features (sha256, decodable,
-- phash_int, the columns named in $feature_columns), profiles (username, observed_at,
-- followers; may be empty).
-- The feature columns ride along (NULL when missing), so the training table needs no
-- second read of image_features.
-- likes_ok marks rows whose like count is trustworthy (valid, visible, settled): they feed
-- the account's baseline even when the post itself is left out (a video, a bad image).
WITH p0 AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY shortcode
            ORDER BY observed_at DESC NULLS LAST, likes DESC NULLS LAST, image_path, followers
        ) AS dup_rank,
        coalesce(is_video, false) OR coalesce(typename = 'GraphVideo', false) AS video,
        coalesce(observed_at, $now::TIMESTAMPTZ) AS seen_at
    FROM posts
),
-- A post without the owner's follower count (hashtag results often lack it, or give 0)
-- takes the latest profile snapshot taken at or before the post was observed.
p AS (
    SELECT * FROM p0 WHERE p0.followers > 0
    UNION ALL
    SELECT q.* REPLACE (pr.followers AS followers)
    FROM (SELECT * FROM p0 WHERE p0.followers IS NULL OR p0.followers <= 0) AS q
    ASOF LEFT JOIN (
        SELECT username, observed_at, followers
        FROM profiles
        WHERE followers > 0 AND observed_at IS NOT NULL
    ) AS pr
        ON pr.username = q.owner_username AND q.seen_at >= pr.observed_at
),
-- One media row per path and one feature row per image hash, or a repeated row would
-- multiply posts; the decodable row wins, then a fixed order, so runs agree.
m AS (
    SELECT path, sha256, decodable
    FROM media
    QUALIFY row_number() OVER (
        PARTITION BY path ORDER BY decodable DESC NULLS LAST, sha256
    ) = 1
),
f AS (
    SELECT
        sha256 AS f_sha256,
        decodable AS f_decodable,
        phash_int,
        COLUMNS(lambda c: list_contains($feature_columns, c))::DOUBLE,
        list_value(*COLUMNS(lambda c: list_contains($feature_columns, c))) AS f_values
    FROM image_features
    QUALIFY row_number() OVER (
        PARTITION BY sha256 ORDER BY decodable DESC NULLS LAST, phash_int
    ) = 1
),
j AS (
    SELECT
        p.*,
        m.path AS m_path,
        m.sha256,
        m.decodable AS m_decodable,
        f.*,
        -- NaN and infinities count as missing: a model cannot use them either.
        coalesce(
            list_bool_and(list_transform(f.f_values, lambda v: coalesce(isfinite(v), false))),
            false
        ) AS features_ok,
        epoch(p.seen_at) - epoch(p.taken_at) AS age_s
    FROM p
    LEFT JOIN m ON m.path = p.image_path
    LEFT JOIN f ON f.f_sha256 = m.sha256
),
r AS (
    SELECT
        *,
        CASE
            WHEN shortcode IS NULL OR shortcode = '' THEN 'missing_shortcode'
            WHEN dup_rank > 1 THEN 'duplicate_shortcode'
            WHEN owner_username IS NULL OR owner_username = '' THEN 'missing_owner'
            WHEN taken_at IS NULL OR taken_at > $now::TIMESTAMPTZ THEN 'invalid_taken_at'
            -- An hour of slack for clocks; an observation before the post is a broken row.
            WHEN age_s < -3600 THEN 'invalid_observed_at'
            WHEN followers IS NULL OR followers <= 0 THEN 'invalid_followers'
            WHEN likes < 0 THEN 'negative_likes'
            WHEN likes IS NULL THEN 'hidden_likes'
            WHEN age_s < $settle_days * 86400 THEN 'unsettled'
            WHEN video AND NOT $include_videos THEN 'video'
            WHEN image_path IS NULL OR image_path = '' OR m_path IS NULL THEN 'no_image'
            WHEN NOT coalesce(m_decodable, true) OR NOT coalesce(f_decodable, true)
                THEN 'undecodable_image'
            WHEN f_sha256 IS NULL OR NOT features_ok THEN 'no_image_features'
        END AS reason
    FROM j
)
SELECT
    * EXCLUDE (
        dup_rank, seen_at, m_path, m_decodable, f_sha256, f_decodable, f_values, features_ok
    ),
    reason IS NULL
        OR reason IN ('video', 'no_image', 'undecodable_image', 'no_image_features')
        AS likes_ok
FROM r
