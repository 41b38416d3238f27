select t.*,
    t.item_key = t.source || ':' || t.item_id as item_key_matches_source,
    (t.source <> 'finance' or t.risk_level is not null) as finance_item_has_risk_level
from marts.ml_items t
