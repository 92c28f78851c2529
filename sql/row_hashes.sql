-- One hash per row of the training table, over every column of the row (image, likes,
-- labels, metadata, every image feature, the split) and the feature version, so any change
-- to what a model learns from changes the row's hash. Rows are keyed by shortcode.
SELECT
    t.shortcode,
    md5(concat($feature_version::VARCHAR, '|', CAST(t AS VARCHAR))) AS h
FROM training AS t
