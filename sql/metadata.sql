-- Metadata known before posting, every column DOUBLE (the METADATA_COLUMNS of
-- picme.build, in that order), for every post that passed the row checks (shortcodes are
-- unique there; training.sql keeps the ones labels.sql kept). Times are UTC: the poster's
-- local time zone is not in the data.
SELECT
    shortcode,
    hour(timezone('UTC', taken_at))::DOUBLE AS hour,
    -- 0 = Monday ... 6 = Sunday
    (isodow(timezone('UTC', taken_at)) - 1)::DOUBLE AS weekday,
    length(coalesce(caption, ''))::DOUBLE AS caption_len,
    len(coalesce(hashtags, []))::DOUBLE AS n_hashtags,
    len(coalesce(mentions, []))::DOUBLE AS n_mentions,
    len(coalesce(tagged_users, []))::DOUBLE AS n_tagged,
    (coalesce(typename = 'GraphSidecar', false) OR coalesce(n_images, 1) > 1)::DOUBLE
        AS is_carousel,
    greatest(coalesce(n_images, 1), 1)::DOUBLE AS n_images,
    coalesce(is_sponsored, false)::DOUBLE AS is_sponsored,
    (location IS NOT NULL AND location <> '')::DOUBLE AS has_location,
    -- 0: <1k followers, 1: <10k, 2: <100k, 3: <1M, 4: 1M and more
    CASE
        WHEN followers < 1000 THEN 0
        WHEN followers < 10000 THEN 1
        WHEN followers < 100000 THEN 2
        WHEN followers < 1000000 THEN 3
        ELSE 4
    END::DOUBLE AS size_bucket,
    ln(1 + followers) AS log_followers
FROM checked
WHERE reason IS NULL
