-- v3: a catalog's published columns joined back to its ground truth (the generating
-- parameters, kept apart in catalog/ground_truth/) on the key, for the generator's use.
CREATE OR REPLACE TEMP VIEW {{ view | ident }} AS
SELECT p.*, g.* EXCLUDE ({{ key | ident }})
FROM read_parquet([{% for f in public %}{{ f | exact_path }}{{ ", " if not loop.last }}{% endfor %}]) AS p
JOIN read_parquet([{% for f in truth %}{{ f | exact_path }}{{ ", " if not loop.last }}{% endfor %}]) AS g USING ({{ key | ident }});
