{#- Feedback on delivered recommendations. Optional per partner: a partner that has not
    delivered outcomes yet contributes no rows instead of failing the build. -#}
with

unioned as (

    {% call(partner, relation) union_partners('outcomes', ['customer_id', 'item_id', 'recommended_on', 'event_type', 'occurred_at']) %}
    select
        '{{ partner }}' as partner,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('item_id') }} as item_id,
        try_cast({{ clean_text('recommended_on') }} as date) as recommended_date,
        {{ lower_snake('event_type') }} as event_type,
        {{ to_local_ts('occurred_at') }} as occurred_at,
        _delivery_date,
        _source_file,
        _source_line
    from {{ relation }}
    where {{ as_of_filter() }}
    {% endcall %}

),

final as (

    -- outcomes have no id of their own: an identical event re-sent is the same event
    select
        md5(concat_ws('|', partner, customer_id, item_id, recommended_date, event_type, occurred_at)) as outcome_id,
        *
    from unioned
    where customer_id is not null and item_id is not null
    {{ first_delivery_per(['partner', 'customer_id', 'item_id', 'recommended_date', 'event_type', 'occurred_at']) }}

)

select * from final
