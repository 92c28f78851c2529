-- Ranking pairs: two posts of the same account and split, at most $window_days apart,
-- whose log likes differ by more than $margin. Each post is paired with at most its next
-- $max_neighbours posts in time, which bounds the table at n * $max_neighbours for
-- accounts that post many times a day. Which post is "a" is pseudo-random, so target (1 if
-- a did better) is balanced instead of encoding time order.
WITH t AS (
    SELECT
        -- Positions in (account, split, time) order: a group's posts are consecutive.
        row_number() OVER (ORDER BY owner_username, split, taken_at, shortcode) AS pos,
        epoch(taken_at) AS ts,
        log_likes,
        shortcode,
        owner_username,
        split
    FROM training
),
-- How many later posts of the group fall within the window (an upper bound when posts
-- share a time; the join below checks each pair), capped at $max_neighbours.
g AS (
    SELECT
        *,
        least(
            count(*) OVER (
                PARTITION BY owner_username, split
                ORDER BY ts
                RANGE BETWEEN CURRENT ROW AND $window_days * 86400 FOLLOWING
            ) - 1,
            $max_neighbours
        ) AS n_ahead
    FROM t
),
-- Candidates: each post with the positions of its next n_ahead posts. Only posts that can
-- pair are generated, and the single join below is on integer positions.
ahead AS (
    SELECT *, pos + unnest(range(1, n_ahead + 1)) AS pos_y
    FROM g
    WHERE n_ahead > 0
),
cand AS (
    SELECT
        x.owner_username,
        x.split,
        x.shortcode AS s1,
        y.shortcode AS s2,
        x.log_likes - y.log_likes AS diff,
        -- Which post is "a": a cheap integer mix of the two positions, deterministic and
        -- balanced (md5 of the shortcodes did the same at several times the cost).
        ((x.pos * 1103515245 + y.pos * 12345) % 2147483647) % 2 = 0 AS s1_first,
        x.pos AS pos_x,
        y.pos AS pos_y
    FROM ahead AS x
    JOIN t AS y
        ON y.pos = x.pos_y
        AND y.owner_username = x.owner_username
        AND y.split = x.split
    WHERE y.ts - x.ts <= $window_days * 86400
        AND abs(x.log_likes - y.log_likes) > $margin
)
SELECT
    owner_username,
    CASE WHEN s1_first THEN s1 ELSE s2 END AS shortcode_a,
    CASE WHEN s1_first THEN s2 ELSE s1 END AS shortcode_b,
    ((CASE WHEN s1_first THEN diff ELSE -diff END) > 0)::INTEGER AS target,
    split
FROM cand
-- Positions give the same order as (account, split, time) without sorting strings.
ORDER BY pos_x, pos_y
