-- Labels of every checked row, and the two account-level exclusions.
-- log_likes = ln(1 + likes): finite for zero likes, close to ln(likes) when it matters.
-- baseline_log_likes: median log likes of the account's previous $baseline_window posts
-- with trustworthy likes (likes_ok), ordered by taken_at. It is an expanding median while
-- fewer exist; a post with fewer than $min_baseline previous posts has no baseline and is
-- excluded as 'no_baseline' (a one- or two-post median is too noisy to call a post better
-- than usual). Then an account with fewer than $min_posts rows left is excluded whole
-- ('few_posts').
-- The windows run over a narrow projection: sorting a million wide rows (captions, lists,
-- features) costs far more. Later steps take the other columns from `checked`.
WITH scored AS (
    SELECT
        shortcode,
        owner_username,
        taken_at,
        likes,
        followers,
        likes_ok,
        CASE WHEN likes_ok THEN ln(1 + likes) END AS log_likes,
        -- Partitioning by likes_ok too keeps untrusted posts out of the frame, so "the
        -- previous N" counts trusted posts only; the untrusted partition is not used.
        median(ln(1 + likes)) OVER w AS baseline_raw,
        count(*) OVER w AS n_previous,
        reason AS reason_checked
    FROM checked
    WINDOW w AS (
        PARTITION BY owner_username, likes_ok
        ORDER BY taken_at, shortcode
        ROWS BETWEEN $baseline_window PRECEDING AND 1 PRECEDING
    )
),
j AS (
    SELECT
        * EXCLUDE (baseline_raw, n_previous, reason_checked, likes_ok),
        CASE WHEN likes_ok AND n_previous >= $min_baseline THEN baseline_raw END
            AS baseline_log_likes,
        coalesce(
            reason_checked,
            CASE WHEN n_previous < $min_baseline THEN 'no_baseline' END
        ) AS reason_row
    FROM scored
)
SELECT
    * EXCLUDE (reason_row),
    -- Labels only where the likes are trusted (NULL, not NaN or inf, on broken rows).
    CASE WHEN log_likes IS NOT NULL THEN likes / followers END AS engagement,
    log_likes - CASE WHEN log_likes IS NOT NULL THEN ln(1 + followers) END AS log_engagement,
    CASE WHEN log_likes IS NOT NULL THEN (likes / followers > $threshold)::INTEGER END AS label,
    log_likes - baseline_log_likes AS rel_log_likes,
    (log_likes > baseline_log_likes)::INTEGER AS label_rel,
    coalesce(
        reason_row,
        CASE
            WHEN count(*) FILTER (WHERE reason_row IS NULL)
                OVER (PARTITION BY owner_username) < $min_posts
            THEN 'few_posts'
        END
    ) AS reason
FROM j
