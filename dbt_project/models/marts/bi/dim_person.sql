{#- Persons for BI: profile and segment, no contact hashes. -#}
with

persons as (

    select * from {{ ref('int_persons') }}

),

final as (

    select
        person_id,
        platform_user_id,
        platform_user_id is not null as is_platform_user,
        city,
        city_tier,
        birth_year,
        age_band,
        gender,
        risk_tolerance,
        segment_id,
        account_count,
        partner_accounts
    from persons

)

select * from final
