-- The pairs touched by interactions delivered since the last passed marts gate
-- ($validated_through: the pair's delivered_date is its latest interaction's), flagged.
select t.*,
    exists (select 1 from marts.ml_persons k where k.person_id = t.person_id) as person_is_known,
    exists (select 1 from marts.ml_items k where k.item_key = t.item_key) as item_is_known,
    coalesce(t.first_at <= t.last_at, false) as first_at_not_after_last_at
from marts.ml_interactions t
where t.delivered_date > $validated_through
