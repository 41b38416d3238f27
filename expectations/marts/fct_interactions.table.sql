-- Whole-table checks, cheap in SQL whatever the history: the row frame holds only the rows
-- delivered since the last passed marts gate. Key uniqueness is dbt's (unique test).
select count(*) as table_rows
from marts.fct_interactions
