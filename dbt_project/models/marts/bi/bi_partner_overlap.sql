{#- Per partner and segment: the partner's persons, and how many of them are platform users. -#}
with

identity as (

    select * from {{ ref('int_identity') }}

),

persons as (

    select * from {{ ref('int_persons') }}

),

partner_persons as (

    select distinct account_source as partner, person_id
    from identity
    where account_source <> 'platform'

),

final as (

    select
        partner_persons.partner,
        persons.segment_id,
        count(*)::integer as partner_persons,
        count(persons.platform_user_id)::integer as shared_platform_users,
        {{ round_to('count(persons.platform_user_id)::float8 / count(*)', 4) }} as shared_share
    from partner_persons
    inner join persons on partner_persons.person_id = persons.person_id
    group by partner_persons.partner, persons.segment_id

)

select * from final
