{#- Identity resolution: one person_id per human across platform users and partner customers.

    Rule (documented in _intermediate__models.yml):
    1. Every platform user is a person: person_id = 'platform:<user_id>'.
    2. A partner customer whose email_sha256 equals a platform user's belongs to that user;
       failing that, one whose phone_sha256 matches. Email beats phone when they point at
       different users; several users with the same hash -> the lowest user_id.
    3. Other customers join whoever shares an email or phone hash with them, transitively,
       across partners (label propagation over alternating email/phone rounds). A component
       containing a matched customer takes its platform person (lowest user); otherwise the
       person_id is the lowest '<partner>:<customer_id>' of the component.
    Every step is a hash join or a window over one hash: linear in accounts, no pairwise joins. -#}
{%- set propagation_rounds = 3 -%}
{#- what every propagation round carries besides its label -#}
{%- set carried = 'partner, customer_id, email_sha256, phone_sha256, city, birth_year, updated_at, match_rule, is_fixed' -%}
with

users as (

    select * from {{ ref('stg_platform__users') }}

),

customers as (

    select * from {{ ref('stg_partners__customers') }}

),

-- numeric ids compare numerically once zero-padded; other ids compare as text
users_ranked as (

    select *, '0' || lpad(user_id, 40, '0') as label_rank
    from users

),

user_by_email as (

    select email_sha256, {{ arg_min('user_id', 'label_rank') }} as user_id
    from users_ranked
    where email_sha256 is not null
    group by email_sha256

),

user_by_phone as (

    select phone_sha256, {{ arg_min('user_id', 'label_rank') }} as user_id
    from users_ranked
    where phone_sha256 is not null
    group by phone_sha256

),

customers_matched as (

    select
        customers.*,
        coalesce(user_by_email.user_id, user_by_phone.user_id) as matched_user_id,
        case
            when user_by_email.user_id is not null then 'email'
            when user_by_phone.user_id is not null then 'phone'
        end as match_rule
    from customers
    left join user_by_email on customers.email_sha256 = user_by_email.email_sha256
    left join user_by_phone on customers.phone_sha256 = user_by_phone.phone_sha256

),

propagation_0 as (

    select
        partner, customer_id, email_sha256, phone_sha256, city, birth_year, updated_at, match_rule,
        matched_user_id is not null as is_fixed,
        case when matched_user_id is not null then 'platform:' || matched_user_id
            else partner || ':' || customer_id end as label,
        case when matched_user_id is not null then '0' || lpad(matched_user_id, 40, '0')
            else '1' || partner || ':' || customer_id end as label_rank
    from customers_matched

),

{% for round in range(propagation_rounds) %}
{% for key in ['email_sha256', 'phone_sha256'] %}
{%- set step = round * 2 + loop.index -%}
propagation_{{ step }} as (

    select
        {{ carried }},
        case when is_fixed or {{ key }} is null then label
            else {{ arg_min_over('label', 'label_rank', key) }} end as label,
        case when is_fixed or {{ key }} is null then label_rank
            else min(label_rank) over (partition by {{ key }}) end as label_rank
    from propagation_{{ step - 1 }}

),
{% endfor %}
{% endfor %}

customer_accounts as (

    select
        partner as account_source,
        customer_id as account_id,
        label as person_id,
        coalesce(match_rule, case when label = partner || ':' || customer_id then 'partner_only'
            else 'partner_hash' end) as match_rule,
        email_sha256,
        phone_sha256,
        city,
        birth_year,
        updated_at
    from propagation_{{ propagation_rounds * 2 }}

),

user_accounts as (

    select
        'platform' as account_source,
        user_id as account_id,
        'platform:' || user_id as person_id,
        'platform' as match_rule,
        email_sha256,
        phone_sha256,
        city,
        birth_year,
        updated_at
    from users

),

accounts as (

    select * from user_accounts
    union all
    select * from customer_accounts

),

final as (

    select
        *,
        case when person_id like 'platform:%'
            then substr(person_id, length('platform:') + 1) end as platform_user_id
    from accounts

)

select * from final
