{#- One model for every partner's interactions (shared shape); partners from var('partners'). -#}
with

unioned as (

    {% call(partner, relation) union_partners('interactions') %}
    select
        '{{ partner }}' as partner,
        {{ clean_text('interaction_id') }} as interaction_id,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('item_id') }} as item_id,
        {{ lower_snake('event_type') }} as event_type,
        {{ to_money('amount') }} as amount,
        {{ to_local_ts('occurred_at') }} as occurred_at,
        _delivery_date,
        _source_file,
        _source_line
    from {{ relation }}
    where {{ as_of_filter() }}
    {% endcall %}

),

final as (

    select * from unioned
    where interaction_id is not null
    {{ first_delivery_per(['partner', 'interaction_id']) }}

)

select * from final
