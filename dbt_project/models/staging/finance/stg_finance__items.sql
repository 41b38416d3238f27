{#- The one per-partner model: shared item columns plus the finance vertical's own. -#}
with

source as (

    {{ partner_items_source('finance') }}

),

typed as (

    select
        {{ partner_item_columns('finance', risk_level=to_int('risk_level')) }},
        {{ lower_snake('product_type') }} as product_type,
        {{ try_cast(clean_text('expected_return_pct'), 'float8') }} as expected_return_pct,
        {{ to_money('min_investment') }} as min_investment
    from source

),

final as (

    {% call latest_per(['item_id']) %}
    select * from typed
    where item_id is not null
    {% endcall %}

)

select * from final
