-- The training table: kept rows with their labels, split, metadata and image features
-- (the columns named in $feature_columns, as DOUBLE, in the order image_features has
-- them). Ordered, so the same lake gives the same file.
SELECT
    l.shortcode,
    l.owner_username,
    l.taken_at,
    c.image_path,
    c.sha256,
    l.likes,
    l.followers,
    l.engagement,
    l.log_engagement,
    l.label,
    l.log_likes,
    l.baseline_log_likes,
    l.rel_log_likes,
    l.label_rel,
    a.split,
    m.* EXCLUDE (shortcode),
    -- Only checked has these names (carried from image_features).
    COLUMNS(lambda c: list_contains($feature_columns, c))
FROM labelled AS l
JOIN assignment AS a ON a.shortcode = l.shortcode
JOIN metadata AS m ON m.shortcode = l.shortcode
JOIN checked AS c ON c.shortcode = l.shortcode AND c.reason IS NULL
WHERE l.reason IS NULL
    AND l.shortcode NOT IN (SELECT shortcode FROM dropped)
ORDER BY l.owner_username, l.taken_at, l.shortcode
