with

persons as (

    select * from {{ ref('int_persons') }}

),

final as (

    select
        person_id,
        platform_user_id,
        city,
        birth_year,
        age_band,
        city_tier,
        risk_tolerance,
        segment_id,
        email_sha256,
        phone_sha256
    from persons

)

select * from final
