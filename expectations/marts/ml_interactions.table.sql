-- Whole-table checks, cheap in SQL whatever the history: the row frame holds only the pairs
-- touched by interactions delivered since the last passed marts gate. Pair uniqueness is dbt's
-- (unique_combination test).
select count(*) as table_rows
from marts.ml_interactions
