-- Whole-table checks of run_date's candidates: one row carrying every column of the table, for the
-- column-set rule (the per-chunk frames read only the columns their rules check).
select * from main.recommendation_candidates where run_date = $run_date limit 1
