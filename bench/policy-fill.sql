-- policy-fill.sql - bench/policy.sh's store for BENCH_STORE=pgsql:
-- :holds holds (sasl:held0000 ...) and :msgs messages rows of the last
-- six days, as many and of the same shapes as its SQLite fill, made by
-- the server in one transaction (psql -v holds=N -v msgs=N -f FILE).
BEGIN;
INSERT INTO holds (identity, scope, reason, since, until, created_by,
    incident)
SELECT 'sasl:held' || lpad(i::text, 4, '0'), 'all', 'bench hold ' || i,
       extract(epoch FROM now())::bigint - 60 - (i * 7919) % (30 * 86400),
       NULL, 'bench', CASE WHEN i % 3 = 0 THEN i % 50 + 1 END
FROM generate_series(0, :holds - 1) AS i;
INSERT INTO audit (time, actor, action, subject, reason)
SELECT since, 'bench', 'hold', identity, reason FROM holds;
INSERT INTO messages (host, queue_id, time, sasl_username, sasl_method,
    client_address, client_name, sender, recipient_count, size,
    rcpt_summary)
SELECT 'bench.example', upper(lpad(to_hex(68719476736 + i), 10, '0')),
       extract(epoch FROM now())::bigint - 518400
           + i * (518400 - 600) / :msgs,
       'u' || lpad(u::text, 5, '0') || '@cust'
           || lpad((u % 97)::text, 2, '0') || '.example',
       'PLAIN', '198.51.' || (u / 250) || '.' || (u % 250 + 1),
       'dyn-' || u || '.isp.example.net',
       'u' || lpad(u::text, 5, '0') || '@cust'
           || lpad((u % 97)::text, 2, '0') || '.example',
       1 + (i % 10) / 7, 1500 + i * 104729 % 198500,
       (ARRAY['gmail.com=1', 'hotmail.com=1', 'outlook.com=1',
              'live.com=1 gmx.de=1', 'corp042.example=1'])[1 + i % 5]
FROM (SELECT i, i * 7919 % 5000 AS u
      FROM generate_series(0::bigint, :msgs - 1) AS i) AS g;
UPDATE meta SET value = value + 1 WHERE key = 'holds_generation';
COMMIT;
ANALYZE;
