{#- Consent in force (CONTRACT.md v2): one row per (platform user, partner) the user's latest
    row shares with, '*' expanded to the partners of this run. The only input xrec.publish.disclosure
    uses to decide which platform users a partner may receive as leads. -#}
with

users as (

    select user_id, share_with, updated_at from {{ ref('stg_platform__users') }}
    where {{ list_size('share_with') }} > 0

),

partners as (

    select unnest({{ list_literal(partner_list()) }}) as partner

),

final as (

    select users.user_id, partners.partner, users.updated_at as stated_at
    from users
    join partners on {{ list_contains('users.share_with', 'partners.partner') }} or {{ list_contains('users.share_with', "'*'") }}

)

select * from final
