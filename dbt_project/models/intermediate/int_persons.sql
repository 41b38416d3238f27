{#- One row per resolved person with profile attributes and derived ML attributes.
    Attributes: the platform account's value first, else the latest-updated partner account's.
    age_band from run_date's year minus birth_year; city_tier from seeds/cities.csv.
    risk_tolerance (1..5) = round(mean of the age score and, when the person engaged with finance
    products, their engagement-weighted mean risk_level); age score: <35 -> 4, 35-44 -> 3,
    45-54 -> 2, 55+ -> 1, unknown age -> 3. segment_id 0 = no interactions yet. -#}
with

identity as (

    select * from {{ ref('int_identity') }}

),

behaviour as (

    select * from {{ ref('int_person_behaviour') }}

),

segments as (

    select * from {{ ref('int_person_segments') }}

),

cities as (

    select * from {{ ref('cities') }}

),

users as (

    select user_id, gender from {{ ref('stg_platform__users') }}

),

persons as (

    select
        person_id,
        {{ any_value('platform_user_id') }} as platform_user_id,
        {%- set platform_latest = "account_source = 'platform' desc, updated_at desc nulls last" %}
        {%- set platform_first = "account_source = 'platform' desc, account_source, account_id" %}
        {{ first_where('city', platform_latest, 'city is not null') }} as city,
        {{ first_where('birth_year', platform_latest, 'birth_year is not null') }} as birth_year,
        {{ first_where('email_sha256', platform_first, 'email_sha256 is not null') }} as email_sha256,
        {{ first_where('phone_sha256', platform_first, 'phone_sha256 is not null') }} as phone_sha256,
        count(*)::integer as account_count,
        string_agg(distinct account_source, ',' order by account_source)
            filter (where account_source <> 'platform') as partner_accounts
    from identity
    group by person_id

),

derived as (

    select
        persons.*,
        coalesce(users.gender, 'U') as gender,
        extract(year from {{ run_date() }})::integer - persons.birth_year as age,
        cities.city_tier,
        behaviour.finance_risk_avg,
        coalesce(segments.segment_id, 0)::integer as segment_id
    from persons
    left join users on persons.platform_user_id = users.user_id
    left join cities on persons.city = cities.city
    left join behaviour on persons.person_id = behaviour.person_id
    left join segments on persons.person_id = segments.person_id

),

scored as (

    select
        *,
        case
            when age is null then 3
            when age < 35 then 4
            when age < 45 then 3
            when age < 55 then 2
            else 1
        end as age_score
    from derived

),

final as (

    select
        person_id,
        platform_user_id,
        city,
        birth_year,
        case
            when age is null then null
            when age < 25 then '<25'
            when age < 35 then '25-34'
            when age < 45 then '35-44'
            when age < 55 then '45-54'
            else '55+'
        end as age_band,
        city_tier,
        -- round_to: half away from zero on every engine (Postgres rounds a float's .5 to even)
        least(5, greatest(1, {{ round_to(
            'case when finance_risk_avg is null then age_score
                else (age_score + finance_risk_avg) / 2.0 end', 0) }}
        ))::integer as risk_tolerance,
        segment_id,
        gender,
        account_count,
        partner_accounts,
        email_sha256,
        phone_sha256
    from scored

)

select * from final
