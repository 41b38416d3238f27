select t.*, exists (select 1 from marts.ml_persons k where k.person_id = t.person_id) as person_is_known
from marts.ml_recipients t
