{#- price_band: fixed CNY bands (stable across runs, unlike quantiles): free, <100, 100-999,
    1k-9.9k, 10k-99k, 100k-999k, 1m+; NULL when the price is unknown. -#}
with

items as (

    select * from {{ ref('int_items_unified') }}

),

topics as (

    select * from {{ ref('int_item_topics') }}

),

final as (

    select
        items.item_key,
        items.source,
        items.item_id,
        items.title,
        items.category,
        topics.topic,
        items.price,
        case
            when items.price is null then null
            when items.price = 0 then 'free'
            when items.price < 100 then '<100'
            when items.price < 1000 then '100-999'
            when items.price < 10000 then '1k-9.9k'
            when items.price < 100000 then '10k-99k'
            when items.price < 1000000 then '100k-999k'
            else '1m+'
        end as price_band,
        items.city,
        items.risk_level,
        items.is_active
    from items
    left join topics on items.item_key = topics.item_key

)

select * from final
