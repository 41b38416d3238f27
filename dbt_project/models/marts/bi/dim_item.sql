with

items as (

    select * from {{ ref('ml_items') }}

),

final as (

    select
        item_key,
        source,
        item_id,
        title,
        category,
        topic,
        price,
        price_band,
        city,
        risk_level,
        is_active
    from items

)

select * from final
