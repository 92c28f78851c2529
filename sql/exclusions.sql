-- Every post left out of the training table, with the one reason it was left out.
SELECT shortcode, owner_username, reason
FROM labelled
WHERE reason IS NOT NULL
UNION ALL
SELECT shortcode, owner_username, reason
FROM dropped
ORDER BY reason, owner_username, shortcode
