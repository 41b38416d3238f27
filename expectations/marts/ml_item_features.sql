select t.*, exists (select 1 from marts.ml_items k where k.item_key = t.item_key) as item_is_known
from marts.ml_item_features t
