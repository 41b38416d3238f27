-- The interactions delivered since the last passed marts gate ($validated_through), flagged.
select t.*,
    exists (select 1 from marts.dim_person k where k.person_id = t.person_id) as person_is_known,
    exists (select 1 from marts.dim_item k where k.item_key = t.item_key) as item_is_known
from marts.fct_interactions t
where t.delivered_date > $validated_through
