-- Whole-table checks, cheap in SQL whatever the history: the row frame holds only the rows
-- delivered since the last passed marts gate.
select
    count(*) as table_rows,
    count(*) - count(distinct interaction_key) as duplicate_interaction_keys
from marts.fct_interactions
