{#- The one per-partner model: shared item columns plus the realty vertical's own. -#}
with

source as (

    {{ partner_items_source('realty') }}

),

typed as (

    select
        {{ partner_item_columns('realty') }},
        {{ clean_text('district') }} as district,
        {{ try_cast(clean_text('area_sqm'), 'float8') }} as area_sqm,
        {{ to_int('bedrooms') }} as bedrooms,
        {{ lower_snake('listing_type') }} as listing_type
    from source

),

final as (

    {% call latest_per(['item_id']) %}
    select * from typed
    where item_id is not null
    {% endcall %}

)

select * from final
