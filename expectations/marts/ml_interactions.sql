-- The pairs touched by interactions delivered since the last passed marts gate
-- ($validated_through), and any pair no interaction explains; flagged.
select t.*,
    exists (select 1 from marts.ml_persons k where k.person_id = t.person_id) as person_is_known,
    exists (select 1 from marts.ml_items k where k.item_key = t.item_key) as item_is_known,
    coalesce(t.first_at <= t.last_at, false) as first_at_not_after_last_at
from marts.ml_interactions t
left join (
    select person_id, item_key, max(delivered_date) as delivered_date
    from marts.fct_interactions
    group by person_id, item_key
) as delivered on delivered.person_id = t.person_id and delivered.item_key = t.item_key
where delivered.delivered_date is null or delivered.delivered_date > $validated_through
