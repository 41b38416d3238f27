{#- The one per-partner model: shared item columns plus the automod vertical's own. -#}
with

source as (

    {{ partner_items_source('automod') }}

),

typed as (

    select
        {{ partner_item_columns('automod') }},
        {{ clean_text('brand') }} as brand,
        {{ clean_text('car_model') }} as car_model,
        {{ lower_snake('part_type') }} as part_type
    from source

),

final as (

    {% call latest_per(['item_id']) %}
    select * from typed
    where item_id is not null
    {% endcall %}

)

select * from final
