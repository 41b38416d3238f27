{#- LightFM item features, long form (item_key, feature, value), all with value 1:
    source:<source>, category:<category>, topic:<topic>, price_band:<band>, risk:<1..5> (finance),
    city_tier:<n> (items with a known city). -#}
with

items as (

    select * from {{ ref('ml_items') }}

),

cities as (

    select * from {{ ref('cities') }}

),

features as (

    select item_key, 'source:' || source as feature from items
    union all
    select item_key, 'category:' || category from items where category is not null
    union all
    select item_key, 'topic:' || topic from items where topic is not null
    union all
    select item_key, 'price_band:' || price_band from items where price_band is not null
    union all
    select item_key, 'risk:' || risk_level from items where risk_level is not null
    union all
    select items.item_key, 'city_tier:' || cities.city_tier
    from items inner join cities on items.city = cities.city

),

final as (

    select item_key::varchar as item_key, feature::varchar as feature, 1.0::double as value
    from features

)

select * from final
