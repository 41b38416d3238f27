{#- One model for every partner's customers (shared shape); partners from var('partners'). -#}
with

unioned as (

    {% call(partner, relation) union_partners('customers') %}
    select
        '{{ partner }}' as partner,
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_hash('email_sha256') }} as email_sha256,
        {{ clean_hash('phone_sha256') }} as phone_sha256,
        {{ canonical_city('city') }} as city,
        {{ to_birth_year('birth_year') }} as birth_year,
        {{ to_local_ts('updated_at') }} as updated_at,
        _delivery_date,
        _source_file,
        _source_line
    from {{ relation }}
    where {{ as_of_filter() }}
    {% endcall %}

),

final as (

    {% call latest_per(['partner', 'customer_id']) %}
    select * from unioned
    where customer_id is not null
    {% endcall %}

)

select * from final
