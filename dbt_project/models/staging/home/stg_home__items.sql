{#- The one per-partner model: shared item columns plus the home vertical's own. -#}
with

source as (

    {{ partner_items_source('home') }}

),

typed as (

    select
        {{ partner_item_columns('home') }},
        {{ lower_snake('style') }} as style,
        {{ lower_snake('room') }} as room
    from source

),

final as (

    {% call latest_per(['item_id']) %}
    select * from typed
    where item_id is not null
    {% endcall %}

)

select * from final
