-- Ten layout changes for `changes` benchmarks over a `trailmap bench shop`
-- database (which uploads no layouts): pages the shop has, one change
-- every eight days from the data's first week (2026-01-08).
--   sqlite3 shop-N.db < benches/plant-changes.sql
DELETE FROM layout_changes WHERE before_hash = 'bench';
INSERT INTO layout_changes (site_id, path, viewport, at_ms, before_hash, after_hash, share, added, removed)
SELECT 1, path, 'desktop', 1767225600000 + (7 + 8 * k) * 86400000, 'bench', 'bench-' || k, 0.25,
       '["Standard delivery: $19.95"]', '["Standard delivery: free"]'
FROM (SELECT 0 AS k, '/cart' AS path UNION ALL SELECT 1, '/checkout/shipping'
      UNION ALL SELECT 2, '/checkout/address' UNION ALL SELECT 3, '/product/42'
      UNION ALL SELECT 4, '/category/shoes' UNION ALL SELECT 5, '/'
      UNION ALL SELECT 6, '/checkout/payment' UNION ALL SELECT 7, '/product/7'
      UNION ALL SELECT 8, '/category/sale' UNION ALL SELECT 9, '/help/shipping');
