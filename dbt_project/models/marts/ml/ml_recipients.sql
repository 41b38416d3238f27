with

identity as (

    select * from {{ ref('int_identity') }}

),

final as (

    select
        person_id,
        account_source as recipient_source,
        account_id as recipient_id,
        email_sha256,
        phone_sha256
    from identity

)

select * from final
