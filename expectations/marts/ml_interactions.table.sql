-- Whole-table checks, cheap in SQL whatever the history: the row frame holds only the pairs
-- touched by interactions delivered since the last passed marts gate.
select
    count(*) as table_rows,
    count(*) - count(distinct (person_id, item_key)) as duplicate_pairs
from marts.ml_interactions
