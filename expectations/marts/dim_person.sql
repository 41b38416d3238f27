-- BI must never see contact data, not even hashed: fail if such a column appears.
select t.*, (
    select count(*) = 0 from information_schema.columns
    where table_schema = 'marts' and table_name = 'dim_person'
      and (column_name ilike '%email%' or column_name ilike '%phone%')
) as has_no_contact_columns
from marts.dim_person t
